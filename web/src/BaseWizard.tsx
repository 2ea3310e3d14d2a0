// The profile-base wizard (seed 000, steps 1–4): basic settings, custom fields (the standard ones are
// fixed), sender settings, confirmation. The API's errors are shown at the field they concern, on
// the step that has it.
import { Alert, Button, Checkbox, Group, Modal, Select, Stack, Stepper, Table, Text, TextInput } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { call, ApiError } from './api.ts';

const TYPES = ['string', 'int', 'float', 'date', 'boolean', 'list', 'ip', 'tags'] as const;
interface NewField {
  key: string;
  label: string;
  type: (typeof TYPES)[number];
  options: string;
}
const STEP_OF: Record<string, number> = { name: 0, description: 0, phoneRegion: 0, emailsConsented: 0, 'sender.name': 2, 'sender.email': 2, 'sender.replyTo': 2 };

export function BaseWizard({ opened, onClose, onCreated }: { opened: boolean; onClose: () => void; onCreated: (id: number) => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [step, setStep] = useState(0);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [region, setRegion] = useState('RU');
  const [consent, setConsent] = useState(false);
  const [fields, setFields] = useState<NewField[]>([]);
  const [sender, setSender] = useState({ name: '', email: '', replyTo: '' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [baseId, setBaseId] = useState<number | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<number, string>>({});

  const reset = () => {
    setStep(0);
    setName('');
    setDescription('');
    setConsent(false);
    setFields([]);
    setSender({ name: '', email: '', replyTo: '' });
    setErrors({});
    setGeneral(null);
    setBaseId(null);
    setFieldErrors({});
  };
  const create = async () => {
    setBusy(true);
    setErrors({});
    setGeneral(null);
    try {
      let id = baseId;
      if (id === null) {
        const s = Object.fromEntries(Object.entries(sender).filter(([, v]) => v.trim()));
        const b = await call('POST /bases', { body: { name, description, phoneRegion: region, emailsConsented: consent, ...(Object.keys(s).length ? { sender: s } : {}) } });
        id = b.id;
        setBaseId(id);
      }
      const failed: Record<number, string> = {};
      for (const [i, f] of fields.entries()) {
        try {
          const opts = f.options.split(',').map((o) => o.trim()).filter(Boolean);
          await call('POST /bases/{baseId}/fields', { path: { baseId: id }, body: { key: f.key, type: f.type, label: { ru: f.label }, ...(f.type === 'list' ? { listMode: 'static', options: opts } : {}) } });
        } catch (e) {
          failed[i] = e instanceof ApiError ? [e.message, ...e.fields.map((x) => x.message)].join(' ') : String(e);
        }
      }
      setFieldErrors(failed);
      void qc.invalidateQueries({ queryKey: ['bases'] });
      if (Object.keys(failed).length) {
        setFields(fields.filter((_, i) => i in failed));
        setStep(1);
        return;
      }
      reset();
      onCreated(id);
    } catch (e) {
      if (e instanceof ApiError && e.fields.length) {
        setErrors(Object.fromEntries(e.fields.map((f) => [f.field, f.message])));
        setStep(Math.min(...e.fields.map((f) => STEP_OF[f.field] ?? 0)));
      } else setGeneral(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  const row = (f: NewField, i: number) => (
    <Table.Tr key={i}>
      <Table.Td><TextInput size="xs" aria-label={t('bw_key')} value={f.key} onChange={(e) => setFields(fields.map((x, j) => (j === i ? { ...x, key: e.currentTarget.value } : x)))} /></Table.Td>
      <Table.Td><TextInput size="xs" aria-label={t('bw_label')} value={f.label} onChange={(e) => setFields(fields.map((x, j) => (j === i ? { ...x, label: e.currentTarget.value } : x)))} /></Table.Td>
      <Table.Td>
        <Select size="xs" aria-label={t('bw_type')} data={TYPES.map((x) => ({ value: x, label: t(`type_${x}`) }))} value={f.type} onChange={(v) => v && setFields(fields.map((x, j) => (j === i ? { ...x, type: v as NewField['type'] } : x)))} />
      </Table.Td>
      <Table.Td>
        {f.type === 'list' && <TextInput size="xs" aria-label={t('bw_options')} placeholder={t('bw_options')} value={f.options} onChange={(e) => setFields(fields.map((x, j) => (j === i ? { ...x, options: e.currentTarget.value } : x)))} />}
        {fieldErrors[i] && <Text size="xs" c="red">{fieldErrors[i]}</Text>}
      </Table.Td>
      <Table.Td><Button size="xs" variant="subtle" color="gray" onClick={() => setFields(fields.filter((_, j) => j !== i))}>×</Button></Table.Td>
    </Table.Tr>
  );
  return (
    <Modal opened={opened} onClose={() => (reset(), onClose())} size="xl" title={t('bw_title')}>
      <Stepper active={step} onStepClick={setStep} size="sm">
        <Stepper.Step label={t('bw_step1')}>
          <Stack mt="md">
            <TextInput label={t('bw_name')} required value={name} onChange={(e) => setName(e.currentTarget.value)} error={errors.name} />
            <TextInput label={t('bw_description')} value={description} onChange={(e) => setDescription(e.currentTarget.value)} error={errors.description} />
            <TextInput label={t('bw_region')} value={region} onChange={(e) => setRegion(e.currentTarget.value)} error={errors.phoneRegion} w={160} />
            <Checkbox label={t('bw_consent')} checked={consent} onChange={(e) => setConsent(e.currentTarget.checked)} error={errors.emailsConsented} />
          </Stack>
        </Stepper.Step>
        <Stepper.Step label={t('bw_step2')}>
          <Stack mt="md">
            <Text size="sm" c="dimmed">{t('bw_standard')}</Text>
            {fields.length > 0 && (
              <Table>
                <Table.Thead>
                  <Table.Tr><Table.Th>{t('bw_key')}</Table.Th><Table.Th>{t('bw_label')}</Table.Th><Table.Th>{t('bw_type')}</Table.Th><Table.Th>{t('bw_options')}</Table.Th><Table.Th /></Table.Tr>
                </Table.Thead>
                <Table.Tbody>{fields.map(row)}</Table.Tbody>
              </Table>
            )}
            <Button variant="light" w={220} onClick={() => setFields([...fields, { key: '', label: '', type: 'string', options: '' }])}>{t('bw_add_field')}</Button>
          </Stack>
        </Stepper.Step>
        <Stepper.Step label={t('bw_step3')}>
          <Stack mt="md">
            <TextInput label={t('bw_sender_name')} value={sender.name} onChange={(e) => setSender({ ...sender, name: e.currentTarget.value })} error={errors['sender.name']} />
            <TextInput label={t('bw_sender_email')} value={sender.email} onChange={(e) => setSender({ ...sender, email: e.currentTarget.value })} error={errors['sender.email']} />
            <TextInput label={t('bw_reply_to')} value={sender.replyTo} onChange={(e) => setSender({ ...sender, replyTo: e.currentTarget.value })} error={errors['sender.replyTo']} />
          </Stack>
        </Stepper.Step>
        <Stepper.Step label={t('bw_step4')}>
          <Stack mt="md">
            <Text>{t('bw_summary', { name, fields: fields.length })}</Text>
            {general && <Alert color="red">{general}</Alert>}
          </Stack>
        </Stepper.Step>
      </Stepper>
      <Group justify="flex-end" mt="lg">
        {step > 0 && <Button variant="default" onClick={() => setStep(step - 1)}>{t('bw_back')}</Button>}
        {step < 3 ? (
          <Button onClick={() => setStep(step + 1)} disabled={step === 0 && (!name.trim() || !consent)}>{t('bw_next')}</Button>
        ) : (
          <Button loading={busy} onClick={() => void create()}>{t('bw_create')}</Button>
        )}
      </Group>
    </Modal>
  );
}
