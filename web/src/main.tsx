import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { LiveProvider } from './live/LiveProvider';
import { AppRoutes } from './routes';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <BrowserRouter>
      <LiveProvider>
        <AppRoutes />
      </LiveProvider>
    </BrowserRouter>
  </StrictMode>,
);
