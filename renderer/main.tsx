// Entry point: theme first (no flash), then the stores' first reads and the event feed, then React.
import '@fontsource/inter/latin-400.css';
import '@fontsource/inter/latin-600.css';
import './styles/app.css';
import './styles/tools.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { connectEvents, reloadAll } from './stores/events';
import { connectNotifications } from './stores/notify';
import { applyTheme, useSettings, watchSystemTheme } from './stores/settings';

applyTheme(useSettings.getState().theme);
watchSystemTheme();
connectEvents();
connectNotifications();
void reloadAll();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
