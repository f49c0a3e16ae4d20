/** The recovery commands digilog-db tells people to run, written once so every hint names them alike. */

/** After undoing a failed migration (or fixing it): mark it rolled back so migrate runs it again. */
export const resolveRolledBack = (name: string) => `digilog-db resolve --rolled-back "${name}"`;

/** After completing a migration by hand, or to record a baseline or a rename. */
export const resolveApplied = (name: string) => `digilog-db resolve --applied "${name}"`;
