// UI strings of one area, merged into the dictionaries by i18n.ts (Russian first; English has the same keys).
export const ru = {};
export const en: typeof ru = {};
