import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { AuthGate } from './auth/AuthGate';
import { AuthProvider } from './auth/AuthProvider';
import { authClient, authSocketUrl } from './auth/client';
import { LiveProvider } from './live/LiveProvider';
import { AppRoutes } from './routes';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <BrowserRouter>
      <AuthProvider client={authClient}>
        <AuthGate>
          {(identity) => (
            <LiveProvider key={identity} socketUrl={authSocketUrl}>
              <AppRoutes />
            </LiveProvider>
          )}
        </AuthGate>
      </AuthProvider>
    </BrowserRouter>
  </StrictMode>,
);
