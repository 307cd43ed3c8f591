// A clean shutdown, once, whatever asks for it (quit, the last window on Windows/Linux, the OS
// logging out or shutting down, SIGTERM): the IPC stops taking calls and waits for those under
// way (an answered write is a durable one: every put is its own commit), then the node stops,
// which ends syncs, closes the LAN server and discovery, and closes every stream. Plain module.

export interface Stoppable {
  close(): Promise<void>;
}

export class Shutdown {
  private running: Promise<void> | null = null;

  constructor(private readonly steps: { ipc?: Stoppable | null; node?: { stop(): Promise<void> } | null; log?: (m: string) => void }) {}

  get started(): boolean {
    return this.running !== null;
  }

  /** Runs the shutdown once; every caller gets the same promise. Never rejects. */
  run(): Promise<void> {
    if (!this.running) {
      this.running = (async () => {
        try {
          await this.steps.ipc?.close();
        } catch (e) {
          this.steps.log?.(`closing IPC: ${(e as Error).message}`);
        }
        try {
          await this.steps.node?.stop();
        } catch (e) {
          this.steps.log?.(`stopping the node: ${(e as Error).message}`);
        }
      })();
    }
    return this.running;
  }
}
