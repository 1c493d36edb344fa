// The one pause of the test suite and its support: waiting for something the test cannot await
// directly (a lease to expire, a lock to be taken, a process to get going). Node ships it.
import { setTimeout } from 'node:timers/promises';

export const sleep = (ms: number): Promise<void> => setTimeout(ms);
