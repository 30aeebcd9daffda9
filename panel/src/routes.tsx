/**
 * THE LIST OF SCREENS. The shell (shell/Layout.tsx) builds its menu and its page switch from it.
 *
 * Live screens (panel/src/live/*, the other engineer's part) register here: add an entry to `liveRoutes`
 * below with a lazy import of your file; `menu: true` puts it in the side menu, with the label from the
 * i18n key `labelKey` (add it to i18n/ru.json and i18n/en.json under "nav"). Nothing else in the shell
 * needs to change.
 */
import { lazy, type ComponentType, type LazyExoticComponent, type ReactNode } from 'react';
import { PhoneOutlined, SearchOutlined, UnorderedListOutlined, HistoryOutlined, TeamOutlined, BellOutlined, MessageOutlined } from '@ant-design/icons';

export interface RouteDef {
  /** `/calls/:id` style; parameters arrive as the page's `params` prop. */
  path: string;
  component: LazyExoticComponent<ComponentType<{ params: Record<string, string> }>>;
  /** Shown in the side menu (first matching entry is highlighted). */
  menu?: boolean;
  labelKey?: string;
  icon?: ReactNode;
  /** Starts loading the page's code (the shell calls it for the page in the address bar while it checks the session). */
  preload?: () => Promise<unknown>;
}

/** A lazily loaded page that can also be preloaded: `...page(() => import('./pages/X'))`. */
export function page(load: () => Promise<{ default: ComponentType<{ params: Record<string, string> }> }>): Pick<RouteDef, 'component' | 'preload'> {
  return { component: lazy(load), preload: load };
}

export const coreRoutes: RouteDef[] = [
  { path: '/', ...page(() => import('./pages/Journal')), menu: true, labelKey: 'nav.journal', icon: <UnorderedListOutlined /> },
  { path: '/calls/:id', ...page(() => import('./pages/CallDetail')) },
  { path: '/search', ...page(() => import('./pages/Search')), menu: true, labelKey: 'nav.search', icon: <SearchOutlined /> },
  { path: '/history', ...page(() => import('./pages/History')), menu: true, labelKey: 'nav.history', icon: <HistoryOutlined /> },
  { path: '/dial', ...page(() => import('./pages/DialPage')), menu: true, labelKey: 'nav.dial', icon: <PhoneOutlined /> },
];

// ---- LIVE SCREENS: register panel/src/live/* pages here --------------------------------------------
// e.g. { path: '/employees', component: lazy(() => import('./live/Employees')), menu: true, labelKey: 'nav.employees', icon: <TeamOutlined /> },
export const liveRoutes: RouteDef[] = [
  { path: '/employees', component: lazy(() => import('./live/Employees')), menu: true, labelKey: 'nav.employees', icon: <TeamOutlined /> },
  { path: '/recent', component: lazy(() => import('./live/RecentCalls')), menu: true, labelKey: 'nav.recent', icon: <BellOutlined /> },
  { path: '/chats', ...page(() => import('./chats/ChatsPage')), menu: true, labelKey: 'nav.chats', icon: <MessageOutlined /> },
];
// ------------------------------------------------------------------------------------------------------

export const routes: RouteDef[] = [...coreRoutes, ...liveRoutes];
