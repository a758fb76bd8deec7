// The frame around every page: the navigation, the live connection state and
// the network's band counts; the page itself renders in <Outlet />.
import { Suspense, useEffect, useRef } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router';
import { AccountBox } from '../auth/AccountBox';
import { useLive } from '../live/LiveProvider';
import { LiveHeaderBar } from './HeaderBar';

export const NAV_ITEMS: readonly { to: string; label: string }[] = [
  { to: '/', label: 'Overview' },
  { to: '/map', label: 'Map' },
  { to: '/analytics', label: 'Analytics' },
  { to: '/predictions', label: 'Predictions' },
  { to: '/alerts', label: 'Alerts' },
  { to: '/quality', label: 'Detectors' },
  { to: '/reports', label: 'Reports' },
  { to: '/settings', label: 'Settings' },
];

export function Layout() {
  const { store, network, connection } = useLive();
  const main = useRef<HTMLElement>(null);
  const { pathname } = useLocation();
  const firstPath = useRef(pathname);
  useEffect(() => {
    // After a page change, keyboard and screen-reader users start at the new page's
    // content (not at the link they left), and it starts scrolled to the top.
    if (pathname === firstPath.current) return;
    firstPath.current = '';
    main.current?.scrollTo(0, 0);
    main.current?.focus({ preventScroll: true });
  }, [pathname]);
  return (
    <div className="app">
      <a className="skip-link" href="#page">
        Skip to content
      </a>
      <LiveHeaderBar
        store={store}
        segmentIds={network.state === 'ready' ? network.segments.map((s) => s.segment_id) : []}
        connection={connection}
        account={<AccountBox />}
      >
        <nav className="main-nav" aria-label="Pages">
          {NAV_ITEMS.map((item) => (
            <NavLink key={item.to} to={item.to} end={item.to === '/'}>
              {item.label}
            </NavLink>
          ))}
        </nav>
      </LiveHeaderBar>
      <main className="content" id="page" tabIndex={-1} ref={main}>
        {network.state === 'error' && (
          <div className="page-message page-error" role="alert">
            <p>Could not load the road network: {network.message}</p>
            <button type="button" onClick={network.retry}>
              Retry
            </button>
          </div>
        )}
        <Suspense fallback={<div className="page-message">Loading…</div>}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}
