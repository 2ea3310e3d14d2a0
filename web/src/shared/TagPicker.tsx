// Tags with their colours: a badge in the tag's colour, a small palette for a new tag's colour, and
// a picker of several tags (the existing ones shown in their colours; with `creatable`, a typed name
// that is not a tag yet becomes a new tag, coloured from the palette, created when the action runs).
import { Badge, ColorSwatch, Group, isLightColor, Pill, Stack, TagsInput, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import type { Res } from './api.ts';

export type Tag = Res<'GET /bases/{baseId}/tags'>['items'][number];

/** The palette for new tags (Mantine's filled shades); the API stores #rrggbb. */
export const PALETTE: readonly { name: string; color: string }[] = [
  { name: 'red', color: '#fa5252' },
  { name: 'orange', color: '#fd7e14' },
  { name: 'yellow', color: '#fab005' },
  { name: 'green', color: '#40c057' },
  { name: 'teal', color: '#12b886' },
  { name: 'blue', color: '#228be6' },
  { name: 'violet', color: '#7950f2' },
  { name: 'pink', color: '#e64980' },
  { name: 'gray', color: '#868e96' },
];

/** New tags' colours in the order they are offered: red comes last (it reads as a warning, and VIP is usually red). */
const NEW_ORDER = ['blue', 'green', 'violet', 'teal', 'orange', 'yellow', 'pink', 'gray', 'red'];

/** The colour of a new tag: the first one in NEW_ORDER not yet used, else the least used. */
export function nextColor(used: readonly string[]): string {
  const count = new Map<string, number>();
  for (const c of used) count.set(c.toLowerCase(), (count.get(c.toLowerCase()) ?? 0) + 1);
  const order = NEW_ORDER.map((n) => PALETTE.find((p) => p.name === n)!.color);
  const least = Math.min(...order.map((c) => count.get(c) ?? 0));
  return order.find((c) => (count.get(c) ?? 0) === least)!;
}

/** Readable text on a tag's colour. */
export const textOn = (color: string) => (isLightColor(color) ? '#212529' : '#ffffff');

export function TagBadge({ tag }: { tag: Pick<Tag, 'name' | 'color'> }) {
  return (
    <Badge color={tag.color} autoContrast variant="filled" tt="none">
      {tag.name}
    </Badge>
  );
}

/** One colour out of the palette: a radio group of swatches, each a labelled button. */
export function ColorPalette({ value, onChange, label }: { value: string; onChange: (color: string) => void; label: string }) {
  const { t } = useTranslation();
  return (
    <Group gap={6} role="radiogroup" aria-label={label}>
      {PALETTE.map((p) => {
        const checked = p.color === value.toLowerCase();
        return (
          <ColorSwatch
            key={p.color}
            component="button"
            type="button"
            role="radio"
            aria-checked={checked}
            aria-label={t('act_color', { name: t(`act_color_${p.name}`) })}
            title={t(`act_color_${p.name}`)}
            color={p.color}
            size={checked ? 26 : 22}
            onClick={() => onChange(p.color)}
            style={{ cursor: 'pointer', color: textOn(p.color), outline: checked ? '2px solid var(--mantine-color-dark-4)' : undefined, outlineOffset: 2 }}
          >
            {checked ? '✓' : null}
          </ColorSwatch>
        );
      })}
    </Group>
  );
}

const same = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();
export const findTag = (tags: readonly Tag[], name: string) => tags.find((x) => same(x.name, name));

/**
 * Several tags by name. `colors` holds the colour chosen for each new name (creatable only);
 * a new name gets the next palette colour until the user picks another.
 */
export function TagPicker({
  tags,
  value,
  onChange,
  colors,
  onColors,
  creatable,
  label,
  placeholder,
  error,
}: {
  tags: readonly Tag[];
  value: string[];
  onChange: (names: string[]) => void;
  colors: Record<string, string>;
  onColors: (colors: Record<string, string>) => void;
  creatable: boolean;
  label: string;
  placeholder: string;
  error?: string | null;
}) {
  const { t } = useTranslation();
  const fresh = value.filter((n) => !findTag(tags, n));
  const colorOf = (name: string) => findTag(tags, name)?.color ?? colors[name] ?? PALETTE[PALETTE.length - 1]!.color;
  const change = (names: string[]) => {
    // An existing tag keeps its own spelling; without `creatable` unknown names are dropped.
    const next = names.map((n) => findTag(tags, n)?.name ?? n.trim()).filter((n) => n && (creatable || findTag(tags, n)));
    const unique = next.filter((n, i) => next.findIndex((m) => same(m, n)) === i);
    const nextColors: Record<string, string> = {};
    for (const n of unique) if (!findTag(tags, n)) nextColors[n] = colors[n] ?? nextColor([...tags.map((x) => x.color), ...Object.values(nextColors)]);
    onColors(nextColors);
    onChange(unique);
  };
  return (
    <Stack gap="xs">
      {/* Above the input: its open dropdown would cover anything below it. */}
      {creatable &&
        fresh.map((name) => (
          <Group key={name} gap="xs" data-testid="new-tag">
            <Text size="sm">{t('act_tags_new', { name })}</Text>
            <ColorPalette value={colorOf(name)} onChange={(c) => onColors({ ...colors, [name]: c })} label={t('act_tags_new', { name })} />
          </Group>
        ))}
      <TagsInput
        data-autofocus
        label={label}
        placeholder={placeholder}
        data={tags.map((x) => x.name)}
        value={value}
        onChange={change}
        acceptValueOnBlur={creatable}
        error={error}
        comboboxProps={{ withinPortal: true }}
        renderOption={({ option }) => (
          <Group gap="xs">
            <ColorSwatch color={colorOf(option.value)} size={12} withShadow={false} />
            <span>{option.value}</span>
          </Group>
        )}
        renderPill={({ value: name, onRemove }) => {
          const c = colorOf(name ?? '');
          return (
            <Pill
              withRemoveButton
              onRemove={onRemove}
              removeButtonProps={{ 'aria-label': t('act_tag_remove', { name }), style: { color: textOn(c) } }}
              style={{ background: c, color: textOn(c) }}
            >
              {name}
            </Pill>
          );
        }}
      />
    </Stack>
  );
}
