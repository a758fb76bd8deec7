// The dashboard's pages. Each is its own chunk, so the first load carries only
// the page it opens on (the map library is fetched only with the map).
import { lazy } from 'react';
import { Route, Routes } from 'react-router';
import { Layout } from './shell/Layout';

const OverviewPage = lazy(() => import('./pages/overview/OverviewPage'));
const MapPage = lazy(() => import('./pages/map/MapPage'));
const SegmentPage = lazy(() => import('./pages/segment/SegmentPage'));
const AnalyticsPage = lazy(() => import('./pages/analytics/AnalyticsPage'));
const PredictionsPage = lazy(() => import('./pages/predictions/PredictionsPage'));
const AlertsPage = lazy(() => import('./pages/alerts/AlertsPage'));
const SettingsPage = lazy(() => import('./pages/settings/SettingsPage'));
const QualityPage = lazy(() => import('./pages/quality/QualityPage'));
const ReportsPage = lazy(() => import('./pages/reports/ReportsPage'));
const NotFoundPage = lazy(() => import('./pages/NotFoundPage'));

export function AppRoutes() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<OverviewPage />} />
        <Route path="map" element={<MapPage />} />
        <Route path="segments/:segmentId" element={<SegmentPage />} />
        <Route path="analytics" element={<AnalyticsPage />} />
        <Route path="predictions" element={<PredictionsPage />} />
        <Route path="alerts" element={<AlertsPage />} />
        <Route path="quality" element={<QualityPage />} />
        <Route path="reports" element={<ReportsPage />} />
        <Route path="settings" element={<SettingsPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
