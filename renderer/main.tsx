// Entry point: theme first (no flash), then the stores' first reads and the event feed, then React.
import '@fontsource/inter/latin-400.css';
import '@fontsource/inter/latin-600.css';
import './styles/app.css';
import './styles/tools.css';
import './styles/follow.css';
import './styles/posts.css';
import './styles/emoji.css';
import './styles/calm.css';
import './styles/devices.css';
import './styles/qr.css';
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

// A file dropped where nothing takes it must not navigate the window away from the app.
for (const type of ['dragover', 'drop'] as const) {
  window.addEventListener(type, (e) => {
    if (!e.dataTransfer || !Array.from(e.dataTransfer.types).includes('Files')) return;
    e.preventDefault();
    if (type === 'dragover') e.dataTransfer.dropEffect = 'none';
  });
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
