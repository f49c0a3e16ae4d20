/**
 * One invocation of the CLI, created by cli.ts and handed to every command:
 * its terminal, its clean-up, its one stop signal and the outcome the command
 * returns. Nothing about a run lives in module state.
 */
import type { ReportSource } from '../output/render.js';
import type { Terminal } from '../output/terminal.js';

/** What a command returns: cli.ts prints it (`json` under --json, else `render`) and exits with `exitCode`. */
export interface Outcome {
  exitCode: number;
  /** The command's one --json document (a fixed shape, see output/json.ts). */
  json?: unknown;
  /** The human report. */
  render?: (terminal: Terminal) => void;
  /** What `--format github|sarif|markdown|junit` renders (lint, migrate --dry-run, status). */
  report?: ReportSource;
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export class Run {
  /** The command's terminal, once it has one: the error printer renders through it (JSON under --json). */
  terminal: Terminal | undefined;
  /** What the command returned (a command that returns nothing succeeded). */
  outcome: Outcome = { exitCode: 0 };
  private readonly cleanups: Array<() => Promise<void>> = [];
  private controller: AbortController | undefined;
  private readonly onSignal = (signal: NodeJS.Signals) => this.controller?.abort(signal);

  /** Runs before the process exits, however the command ended (e.g. stopping the embedded database). */
  onCleanup(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  async cleanUp(): Promise<void> {
    this.stopListening();
    await Promise.all(this.cleanups.splice(0).map((cleanup) => cleanup().catch(() => {})));
  }

  /**
   * The run's stop signal: the first SIGINT, SIGTERM or SIGHUP (a closed terminal or ssh session)
   * aborts it with the signal's name as reason. The handlers are installed only when a command
   * asks, and `once`: a command that does not stop gracefully keeps Node's default, and a second
   * Ctrl-C still ends the process at once.
   */
  stopSignal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      for (const signal of STOP_SIGNALS) process.once(signal, this.onSignal);
    }
    return this.controller.signal;
  }

  private stopListening(): void {
    for (const signal of STOP_SIGNALS) process.removeListener(signal, this.onSignal);
  }
}
