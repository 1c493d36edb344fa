/**
 * Today's model usage and the daily budget, small in the top bar (`GET /usage?days=1`), read
 * again after every turn. Says nothing when the server cannot tell: usage is a hint, never in the way.
 */
import { useEffect, useState } from 'react';
import { api } from './api.ts';

type Usage = { budget: { tokensPerDay: number | null; usedToday: number; resetsAt: string | null } };

const count = new Intl.NumberFormat();

export function UsageMeter({ version, signedIn }: { version: number; signedIn: boolean }) {
  const [budget, setBudget] = useState<Usage['budget']>();
  useEffect(() => {
    // Read again after every turn: `version` counts them.
    void version;
    if (!signedIn) return;
    let current = true;
    api<Usage>('/usage?days=1').then(
      (usage) => current && setBudget(usage.budget),
      () => current && setBudget(undefined),
    );
    return () => {
      current = false;
    };
  }, [version, signedIn]);
  if (!budget) return null;
  const { usedToday, tokensPerDay, resetsAt } = budget;
  const text =
    tokensPerDay === null
      ? `${count.format(usedToday)} tokens today`
      : `${count.format(usedToday)} / ${count.format(tokensPerDay)} tokens today`;
  const title = resetsAt
    ? `Today's budget renews ${new Date(resetsAt).toLocaleString()}`
    : "Today's model usage";
  const spent = tokensPerDay !== null && usedToday >= tokensPerDay;
  return (
    <span className="usage-meter" data-spent={spent} title={title} data-testid="usage-meter">
      {text}
    </span>
  );
}
