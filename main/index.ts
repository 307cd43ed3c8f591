// Electron main process: a window onto the engine. Kept thin on purpose: everything it shows
// comes from app/ (which never imports electron), so the same engine runs headless.
import { app, BrowserWindow } from 'electron';

async function createWindow(): Promise<void> {
  const win = new BrowserWindow({
    width: 1100,
    height: 760,
    title: 'Drayer',
    webPreferences: { contextIsolation: true, sandbox: true, nodeIntegration: false },
  });
  await win.loadURL('data:text/html,<h1 style="font-family:sans-serif">Drayer</h1><p>The desktop UI arrives with the DrayerApi.</p>');
}

app.whenReady().then(createWindow);
app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
