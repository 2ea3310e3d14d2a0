// Phone normalization: our RU fast path + fallback against libphonenumber-js/max
// alone (the baseline), on the six formats of a dirty generated file.
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { generateProfiles } from '../src/generate/generate.ts';
import { normalizePhone } from '../src/profiles/normalize.ts';
import { emit, median } from './emit.ts';

export async function run(args: Record<string, string>) {
  const n = Number(args.profiles ?? 200_000);
  const phones: string[] = [];
  for (const p of generateProfiles(n, { seed: 7, dirty: true })) if (p.phone) phones.push(p.phone);
  const time = (fn: (s: string) => string | null | undefined) => {
    const runs: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      for (const s of phones) fn(s);
      runs.push(((performance.now() - t0) * 1000) / phones.length);
    }
    return median(runs);
  };
  const ours = time((s) => normalizePhone(s, 'RU'));
  const lib = time((s) => {
    const p = parsePhoneNumberFromString(s, 'RU');
    return p?.isValid() ? p.number : null;
  });
  let same = 0;
  for (const s of phones) {
    const p = parsePhoneNumberFromString(s, 'RU');
    if ((p?.isValid() ? p.number : null) === normalizePhone(s, 'RU')) same++;
  }
  emit({ bench: 'normalize', case: 'phone_dirty', metric: 'us_per_call', value: ours, unit: 'us', baseline: lib, target: 1, better: 'lower', profiles: phones.length });
  emit({ bench: 'normalize', case: 'phone_dirty', metric: 'agreement_with_libphonenumber', value: same / phones.length, unit: 'ratio', better: 'higher', profiles: phones.length });
}
