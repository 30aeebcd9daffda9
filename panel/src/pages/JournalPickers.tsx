/**
 * The journal's employee and customer filters: people pick a name, the URL keeps the id (`employee` is the
 * extension, `customer` the 1C reference: the API's own parameters). Employees come from GET /employees,
 * customers from GET /directory/search (a contact person stands for their customer).
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { Select, Spin } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, type Employee } from '../api/client';

type Option = { value: string; label: string };

function employeeLabel(e: Employee): string {
  const name = e.fullName ?? e.name;
  return name ? `${name} (${e.extension})` : e.extension;
}

export function EmployeeFilter({ value, onChange }: { value: string | undefined; onChange: (v: string) => void }) {
  const { t } = useTranslation();
  const [employees, setEmployees] = useState<Employee[] | null>(null);
  useEffect(() => {
    let alive = true;
    api.employees.list().then(
      (r) => alive && setEmployees(r.items),
      () => alive && setEmployees([]),
    );
    return () => {
      alive = false;
    };
  }, []);
  const options = useMemo<Option[]>(() => {
    const list = (employees ?? []).map((e) => ({ value: e.extension, label: employeeLabel(e) }));
    // An extension in the URL that the list lacks (removed since, or the list not loaded yet) still shows.
    if (value && !list.some((o) => o.value === value)) list.unshift({ value, label: value });
    return list;
  }, [employees, value]);
  return (
    <Select
      allowClear
      showSearch={{ optionFilterProp: 'label' }}
      placeholder={t('journal.filter.employee')}
      value={value || undefined}
      onChange={(v) => onChange(v ?? '')}
      options={options}
      loading={employees === null}
      popupMatchSelectWidth={false}
      style={{ width: 190 }}
      data-testid="filter-employee"
    />
  );
}

export function CustomerFilter({ value, onChange }: { value: string | undefined; onChange: (v: string) => void }) {
  const { t } = useTranslation();
  const [options, setOptions] = useState<Option[]>([]);
  const [picked, setPicked] = useState<Option | null>(null);
  const [state, setState] = useState<'idle' | 'short' | 'loading' | 'done' | 'error'>('idle');
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const ac = useRef<AbortController | null>(null);

  // The customer in the URL is named by GET /customers/{id} (a link or a reload shows the name, not the id).
  useEffect(() => {
    if (!value) {
      setPicked(null);
      return;
    }
    if (picked?.value === value) return;
    let alive = true;
    setPicked({ value, label: value });
    api.customers.get(value).then(
      (c: any) => alive && setPicked({ value, label: (c.customer ?? c).name ?? value }),
      () => undefined,
    );
    return () => {
      alive = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);

  const search = (q: string) => {
    if (timer.current) clearTimeout(timer.current);
    ac.current?.abort();
    const text = q.trim();
    if (!text) {
      setOptions([]);
      setState('idle');
      return;
    }
    if (text.length < 3) {
      setOptions([]);
      setState('short');
      return;
    }
    setState('loading');
    timer.current = setTimeout(() => {
      const ctl = new AbortController();
      ac.current = ctl;
      api.directory.search(text, 20, ctl.signal).then(
        ({ items }) => {
          if (ctl.signal.aborted) return;
          const seen = new Set<string>();
          const found: Option[] = [];
          for (const it of items) {
            const id = it.kind === 'contact' ? it.customer?.id : it.id;
            const name = it.kind === 'contact' ? it.customer?.name : it.name;
            if (!id || seen.has(id)) continue;
            seen.add(id);
            found.push({ value: id, label: it.kind === 'contact' ? `${name ?? id} · ${it.name}` : name ?? id });
          }
          setOptions(found);
          setState('done');
        },
        () => !ctl.signal.aborted && setState('error'),
      );
    }, 300);
  };

  const all = picked && !options.some((o) => o.value === picked.value) ? [picked, ...options] : options;
  const note = state === 'short' ? t('journal.filter.customerShort') : state === 'loading' ? <Spin size="small" /> : state === 'error' ? t('errors.api') : state === 'done' ? t('search.nothing') : t('journal.filter.customerHint');
  return (
    <Select
      allowClear
      showSearch={{ filterOption: false, onSearch: search }}
      placeholder={t('journal.filter.customer')}
      value={value || undefined}
      onChange={(v, o) => {
        setPicked(v ? (o as Option) : null);
        onChange(v ?? '');
      }}
      options={all}
      notFoundContent={note}
      popupMatchSelectWidth={false}
      style={{ width: 220 }}
      data-testid="filter-customer"
    />
  );
}
