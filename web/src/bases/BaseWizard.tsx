// The profile-base wizard (seed 000, steps 1–4): basic settings, custom fields (the standard ones are
// fixed), sender settings, confirmation. The API's errors are shown at the field they concern, on
// the step that has it. The forms are the settings editor's (BaseForm.tsx, FieldEditor.tsx).
import { Alert, Button, Group, Modal, Stack, Stepper, Text } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { call } from '../shared/api.ts';
import { BASIC_INPUTS, BasicSettings, SECTIONS, SENDER_INPUTS, SenderSettings, baseBody, baseDraftOf, errorsOf, firstSectionWithErrors, type Errors } from './BaseForm.tsx';
import { FieldsTable, saveFields, type FieldDraft, type FieldErrors } from './FieldEditor.tsx';

export function BaseWizard({ opened, onClose, onCreated }: { opened: boolean; onClose: () => void; onCreated: (id: number) => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [step, setStep] = useState(0);
  const [draft, setDraft] = useState(baseDraftOf);
  const [fields, setFields] = useState<FieldDraft[]>([]);
  const [errors, setErrors] = useState<Errors>({});
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Once the base exists, a retry only adds the fields the API refused.
  const [baseId, setBaseId] = useState<number | null>(null);

  const reset = () => {
    setStep(0);
    setDraft(baseDraftOf());
    setFields([]);
    setErrors({});
    setFieldErrors({});
    setGeneral(null);
    setBaseId(null);
  };
  const create = async () => {
    setBusy(true);
    setErrors({});
    setGeneral(null);
    try {
      const id = baseId ?? (await call('POST /bases', { body: baseBody(draft) })).id;
      setBaseId(id);
      const saved = await saveFields(id, fields);
      setFieldErrors(saved.errors);
      void qc.invalidateQueries({ queryKey: ['bases'] });
      if (Object.keys(saved.errors).length) {
        setFields(saved.drafts.filter((d) => d.id in saved.errors));
        setStep(SECTIONS.indexOf('fields'));
        return;
      }
      reset();
      onCreated(id);
    } catch (e) {
      const { fields: at, general: message } = errorsOf(e, [...BASIC_INPUTS, ...SENDER_INPUTS]);
      setErrors(at);
      setGeneral(message);
      const section = firstSectionWithErrors(at, {});
      if (section) setStep(SECTIONS.indexOf(section));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal opened={opened} onClose={() => (reset(), onClose())} size="80rem" title={t('bw_title')}>
      <Stepper active={step} onStepClick={setStep} size="sm">
        <Stepper.Step label={t('bw_step1')}>
          <Stack mt="md">
            <BasicSettings value={draft} onChange={setDraft} errors={errors} />
          </Stack>
        </Stepper.Step>
        <Stepper.Step label={t('bw_step2')}>
          <Stack mt="md">
            <Text size="sm" c="dimmed">{t('bw_standard')}</Text>
            <FieldsTable drafts={fields} errors={fieldErrors} onChange={setFields} />
          </Stack>
        </Stepper.Step>
        <Stepper.Step label={t('bw_step3')}>
          <Stack mt="md">
            <SenderSettings value={draft} onChange={setDraft} errors={errors} />
          </Stack>
        </Stepper.Step>
        <Stepper.Step label={t('bw_step4')}>
          <Stack mt="md">
            <Text>{t('bw_summary', { name: draft.name, fields: fields.length })}</Text>
            {general && <Alert color="red">{general}</Alert>}
          </Stack>
        </Stepper.Step>
      </Stepper>
      <Group justify="flex-end" mt="lg">
        {step > 0 && <Button variant="default" onClick={() => setStep(step - 1)}>{t('bw_back')}</Button>}
        {step < 3 ? (
          <Button onClick={() => setStep(step + 1)} disabled={step === 0 && (!draft.name.trim() || !draft.emailsConsented)}>{t('bw_next')}</Button>
        ) : (
          <Button loading={busy} onClick={() => void create()}>{t('bw_create')}</Button>
        )}
      </Group>
    </Modal>
  );
}
