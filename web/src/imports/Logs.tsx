// The base's logs on one screen: every import (who, when, which file, its size and hash, the counts,
// the failed rows) and every export (who, when, format, rows, the file while it is kept).
import { Modal, Tabs } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { ExportLog } from '../exports/Export.tsx';
import { ImportHistory } from './Import.tsx';

export function LogsDialog({ baseId, opened, onClose }: { baseId: number; opened: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Modal opened={opened} onClose={onClose} size="90%" title={t('logs_title')}>
      {opened && (
        <Tabs defaultValue="imports">
          <Tabs.List mb="sm">
            <Tabs.Tab value="imports">{t('logs_imports')}</Tabs.Tab>
            <Tabs.Tab value="exports">{t('logs_exports')}</Tabs.Tab>
          </Tabs.List>
          <Tabs.Panel value="imports">
            <ImportHistory baseId={baseId} limit={100} full />
          </Tabs.Panel>
          <Tabs.Panel value="exports">
            <ExportLog baseId={baseId} limit={100} full />
          </Tabs.Panel>
        </Tabs>
      )}
    </Modal>
  );
}
