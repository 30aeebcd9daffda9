import { Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Button, Dropdown, Grid, Input, Layout as AntLayout, Menu, Result, Segmented, Spin, Tooltip, type InputRef } from 'antd';
import { LogoutOutlined, PhoneOutlined, UserOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { routes } from '../routes';
import { matchPath, useRouter } from '../router';
import { setLanguage, type Language } from '../i18n';
import { sessionName } from '../api/client';
import { useSession } from './session';
import { DialerContext, type DialerValue } from './dialer-context';
import { Dialer } from './Dialer';
import { BannerSlots } from './Slots';
import { useShortcuts } from './shortcuts';
import { LinkIndicator } from '../live/LinkIndicator';

export function Layout() {
  const { t, i18n } = useTranslation();
  const { pathname, navigate } = useRouter();
  const { session, signOut } = useSession();
  const screens = Grid.useBreakpoint();
  const narrow = !screens.md;
  const [collapsed, setCollapsed] = useState(false);
  const searchRef = useRef<InputRef>(null);
  const [dialer, setDialer] = useState<{ open: boolean; number: string; autoDial: boolean; origin?: { kind: string; ref?: string; label?: string }; seq: number }>({ open: false, number: '', autoDial: false, seq: 0 });
  const dialerValue = useMemo<DialerValue>(
    () => ({ open: (number = '', opts = {}) => setDialer((d) => ({ open: true, number, autoDial: !!opts.autoDial, origin: opts.origin, seq: d.seq + 1 })) }),
    [],
  );

  const focusSearch = useCallback(() => {
    searchRef.current?.focus({ cursor: 'all' });
  }, []);
  useShortcuts({ '/': focusSearch, d: () => dialerValue.open() });

  let page: { Component: (typeof routes)[number]['component']; params: Record<string, string> } | null = null;
  for (const r of routes) {
    const params = matchPath(r.path, pathname);
    if (params) {
      page = { Component: r.component, params };
      break;
    }
  }
  const menuItems = routes.filter((r) => r.menu).map((r) => ({ key: r.path, icon: r.icon, label: t(r.labelKey ?? r.path) }));
  const selected = routes.filter((r) => r.menu && (r.path === '/' ? pathname === '/' || pathname.startsWith('/calls') : pathname.startsWith(r.path))).map((r) => r.path);

  return (
    <DialerContext.Provider value={dialerValue}>
      <AntLayout style={{ minHeight: '100vh' }}>
        <AntLayout.Sider
          collapsible={!narrow}
          collapsed={narrow || collapsed}
          onCollapse={setCollapsed}
          collapsedWidth={narrow ? 48 : 64}
          width={200}
          theme="light"
          trigger={narrow ? null : undefined}
          style={{ borderRight: '1px solid #f0f0f0' }}
        >
          <Menu mode="inline" selectedKeys={selected} items={menuItems} onClick={(e) => navigate(e.key)} data-testid="nav" />
        </AntLayout.Sider>
        <AntLayout>
          <AntLayout.Header className="tf-header">
            <span className="tf-brand">{t('app.name')}</span>
            <Input.Search
              ref={searchRef}
              className="tf-search"
              placeholder={t('search.placeholderShort')}
              allowClear
              data-testid="header-search"
              onSearch={(v) => v.trim() && navigate(`/search?q=${encodeURIComponent(v.trim())}`)}
            />
            <span className="tf-spacer" />
            <Tooltip title={t('dial.shortcut')}>
              <Button type="primary" icon={<PhoneOutlined />} onClick={() => dialerValue.open()} data-testid="open-dialer">
                {narrow ? null : t('dial.button')}
              </Button>
            </Tooltip>
            <LinkIndicator compact={narrow} />
            <Segmented size="small" value={i18n.language} options={[{ label: 'RU', value: 'ru' }, { label: 'EN', value: 'en' }]} onChange={(v) => setLanguage(v as Language)} data-testid="lang" />
            <Dropdown
              menu={{ items: [{ key: 'out', icon: <LogoutOutlined />, label: t('app.signOut'), onClick: signOut }] }}
              trigger={['click']}
            >
              <Button icon={<UserOutlined />} data-testid="user-menu">{narrow ? null : sessionName(session)}</Button>
            </Dropdown>
          </AntLayout.Header>
          <BannerSlots />
          <AntLayout.Content className="tf-content">
            <Suspense fallback={<Spin />}>
              {page ? <page.Component params={page.params} /> : <Result status="404" title="404" subTitle={t('app.notFound')} />}
            </Suspense>
          </AntLayout.Content>
        </AntLayout>
      </AntLayout>
      <Dialer key={dialer.seq} open={dialer.open} initialNumber={dialer.number} autoDial={dialer.autoDial} origin={dialer.origin} onClose={() => setDialer((d) => ({ ...d, open: false }))} />
    </DialerContext.Provider>
  );
}
