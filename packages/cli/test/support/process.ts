/** Processes the tests look after (digilog-db's children, owners of shadow databases). */

/** Whether signal 0 reaches `pid` (true for a zombie not reaped yet, unlike pty.ts's isRunning). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
