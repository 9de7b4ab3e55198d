/** The embedded stores' own housekeeping: drop what has expired, and count what is held. */
export interface Prunable {
  /** Drops every expired entry and whatever index still points at it. */
  prune(): void;
  /** Entries held, indexes included: what pruning must bring back down. */
  entryCount(): number;
}
