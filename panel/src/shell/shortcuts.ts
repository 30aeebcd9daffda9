import { useEffect, useRef } from 'react';

/** Single-key shortcuts that never fire while the user types in a field (`/` search, `d` dial). */
export function useShortcuts(map: Record<string, () => void>): void {
  const ref = useRef(map);
  ref.current = map;
  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
      const el = e.target as HTMLElement | null;
      if (el && (el.isContentEditable || /^(TEXTAREA|SELECT)$/.test(el.tagName))) return;
      // Text fields keep their keys; radios, checkboxes and buttons (language switch, segmented controls) do not.
      if (el instanceof HTMLInputElement && !/^(radio|checkbox|button|submit|reset|range|color|file|image)$/.test(el.type)) return;
      if (document.querySelector('.ant-modal-wrap:not([style*="display: none"]) .ant-modal')) return;
      const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
      // `d` also on a Russian layout (в), `/` also as `.` there (the same key).
      const fn = ref.current[key] ?? ref.current[{ в: 'd', '.': '/' }[key] ?? ''];
      if (fn) {
        e.preventDefault();
        fn();
      }
    };
    window.addEventListener('keydown', on);
    return () => window.removeEventListener('keydown', on);
  }, []);
}
