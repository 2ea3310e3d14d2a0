// Everything a user reads from the API, in Russian (default) and English.
// Keys are closed: a typo in a key is a type error.

export type Lang = 'ru' | 'en';

const ru = {
  // titles, one per error code
  'title.validation_failed': 'Ошибка в данных',
  'title.bad_request': 'Некорректный запрос',
  'title.unauthorized': 'Требуется вход',
  'title.forbidden': 'Доступ запрещён',
  'title.password_change_required': 'Нужно сменить пароль',
  'title.not_found': 'Не найдено',
  'title.conflict': 'Конфликт',
  'title.payload_too_large': 'Слишком большой запрос',
  'title.internal': 'Внутренняя ошибка',
  // details
  validation_failed: 'Проверьте поля: {fields}',
  'not_found.base': 'База профилей {id} не найдена',
  'not_found.profile': 'Клиент {id} не найден',
  'not_found.field': 'Поле {id} не найдено',
  'not_found.token': 'API-ключ {id} не найден',
  'not_found.user': 'Пользователь {id} не найден',
  'not_found.route': 'Адрес {method} {url} не найден',
  'conflict.phone': 'Клиент с телефоном {value} уже есть в этой базе (id {existingId})',
  'conflict.cardNumber': 'Клиент с номером карты {value} уже есть в этой базе (id {existingId})',
  'conflict.email': 'Подписчик с email {value} уже есть в этой базе (id {existingId})',
  'conflict.name': 'База с названием «{value}» уже есть',
  'conflict.key': 'Поле с ключом «{value}» уже есть в этой базе',
  'conflict.login': 'Пользователь «{value}» уже есть',
  'conflict.type_change': 'Тип поля нельзя сменить: часть сохранённых значений не преобразуется',
  'conflict.base_changed': 'Данные изменились во время записи, повторите запрос',
  'conflict.cards_exhausted': 'Номера карт с префиксом «{prefix}» и длиной {length} закончились: увеличьте длину в настройках базы',
  'unauthorized.missing': 'Войдите или передайте API-ключ в заголовке Authorization: Bearer …',
  'unauthorized.invalid': 'Сессия или API-ключ недействительны',
  'unauthorized.credentials': 'Неверный логин или пароль',
  'forbidden.permission': 'Нет права «{permission}»',
  password_change_required: 'Смените одноразовый пароль: POST /api/v1/auth/password',
  payload_too_large: 'Тело запроса больше {limit} байт',
  'bad_request.json': 'Тело запроса — некорректный JSON',
  'bad_request.url': 'Некорректный адрес: проверьте %-кодирование',
  'bad_request.content_type': 'Неподдерживаемый тип содержимого {type}',
  internal: 'Что-то пошло не так. Номер запроса: {requestId}',
  // field messages
  required: 'Обязательное поле',
  invalid_type: 'Ожидается {expected}',
  'type.string': 'строка',
  'type.number': 'число',
  'type.boolean': 'true или false',
  'type.object': 'объект',
  'type.array': 'массив',
  'type.integer': 'целое число',
  'type.null': 'null',
  too_long: 'Не длиннее {max} символов',
  too_short: 'Не короче {min} символов',
  too_small: 'Не меньше {min}',
  too_big: 'Не больше {max}',
  too_many: 'Не больше {max} элементов',
  invalid_enum: 'Допустимые значения: {values}',
  unknown_key: 'Неизвестное поле',
  invalid_format: 'Неверный формат',
  phone_invalid: 'Не похоже на номер телефона: «{value}»',
  email_invalid: 'Не похоже на email: «{value}»',
  date_invalid: 'Дата должна быть в виде ГГГГ-ММ-ДД или ДД.ММ.ГГГГ: «{value}»',
  birth_date_invalid: 'Дата рождения — реальная дата не раньше 1900 года и не в будущем: «{value}»',
  gender_invalid: 'Пол: «м» или «ж» (male/female): «{value}»',
  card_invalid: 'Номер карты — от 1 до 200 латинских букв и цифр: «{value}»',
  region_invalid: 'Код страны из двух букв, например RU: «{value}»',
  email_consent_required: 'Подтвердите, что все email в базе согласились получать рассылки',
  member_needs_identity: 'Участнику программы лояльности нужен телефон или номер карты',
  subscriber_needs_email: 'Подписчику нужен email',
  subscriber_only_email: 'У подписчика есть только email; чтобы добавить телефон или карту, укажите kind = member',
  card_both: 'Укажите либо номер карты, либо generateCard, но не оба',
  set_once: 'Задаётся один раз при регистрации и потом не меняется',
  field_unknown: 'В базе нет дополнительного поля «{key}»',
  field_int: 'Ожидается целое число: «{value}»',
  field_float: 'Ожидается число: «{value}»',
  field_boolean: 'Ожидается да/нет (true/false): «{value}»',
  field_date: 'Ожидается дата ГГГГ-ММ-ДД или ДД.ММ.ГГГГ: «{value}»',
  field_ip: 'Ожидается IP-адрес: «{value}»',
  field_string: 'Ожидается строка до {max} символов',
  field_list_option: 'Значения «{value}» нет в списке: {options}',
  field_list_value: 'Ожидается одно значение из списка',
  field_tags: 'Ожидается список тегов',
  field_key_invalid: 'Ключ: латинская буква, затем латинские буквы, цифры или _ (до 63 символов)',
  field_key_standard: '«{key}» — стандартное поле',
  field_key_immutable: 'Ключ поля нельзя изменить',
  standard_fixed: 'Стандартные поля нельзя удалить, переименовать или сменить их тип',
  field_type_convert: 'Не преобразуются в тип «{type}» сохранённые значения (всего: {count}), например «{example}»',
  list_mode_required: 'Для списка укажите listMode: static или free',
  list_options_required: 'Статичному списку нужны варианты',
  list_only: 'Только для полей типа «список»',
  default_invalid: 'Значение по умолчанию не подходит к типу поля: {reason}',
  password_weak: 'Пароль — не короче 10 символов',
  password_wrong: 'Текущий пароль неверен',
  password_same: 'Новый пароль должен отличаться от текущего',
} as const;

export type MessageKey = keyof typeof ru;

const en: Record<MessageKey, string> = {
  'title.validation_failed': 'Invalid input',
  'title.bad_request': 'Bad request',
  'title.unauthorized': 'Authentication required',
  'title.forbidden': 'Forbidden',
  'title.password_change_required': 'Password change required',
  'title.not_found': 'Not found',
  'title.conflict': 'Conflict',
  'title.payload_too_large': 'Payload too large',
  'title.internal': 'Internal error',
  validation_failed: 'Check these fields: {fields}',
  'not_found.base': 'Profile base {id} not found',
  'not_found.profile': 'Profile {id} not found',
  'not_found.field': 'Field {id} not found',
  'not_found.token': 'API key {id} not found',
  'not_found.user': 'User {id} not found',
  'not_found.route': 'No route {method} {url}',
  'conflict.phone': 'A profile with phone {value} already exists in this base (id {existingId})',
  'conflict.cardNumber': 'A profile with card number {value} already exists in this base (id {existingId})',
  'conflict.email': 'A subscriber with email {value} already exists in this base (id {existingId})',
  'conflict.name': 'A base named “{value}” already exists',
  'conflict.key': 'A field with key “{value}” already exists in this base',
  'conflict.login': 'User “{value}” already exists',
  'conflict.type_change': 'The field type cannot change: some stored values do not convert',
  'conflict.base_changed': 'The data changed while writing; retry the request',
  'conflict.cards_exhausted': 'Card numbers with prefix “{prefix}” and length {length} are used up: make them longer in the base settings',
  'unauthorized.missing': 'Sign in or send an API key as Authorization: Bearer …',
  'unauthorized.invalid': 'The session or API key is not valid',
  'unauthorized.credentials': 'Wrong login or password',
  'forbidden.permission': 'Permission “{permission}” is required',
  password_change_required: 'Change the one-time password first: POST /api/v1/auth/password',
  payload_too_large: 'The request body is larger than {limit} bytes',
  'bad_request.json': 'The request body is not valid JSON',
  'bad_request.url': 'Malformed URL: check the %-encoding',
  'bad_request.content_type': 'Unsupported content type {type}',
  internal: 'Something went wrong. Request id: {requestId}',
  required: 'Required',
  invalid_type: 'Expected {expected}',
  'type.string': 'a string',
  'type.number': 'a number',
  'type.boolean': 'true or false',
  'type.object': 'an object',
  'type.array': 'an array',
  'type.integer': 'an integer',
  'type.null': 'null',
  too_long: 'At most {max} characters',
  too_short: 'At least {min} characters',
  too_small: 'At least {min}',
  too_big: 'At most {max}',
  too_many: 'At most {max} items',
  invalid_enum: 'Allowed values: {values}',
  unknown_key: 'Unknown field',
  invalid_format: 'Invalid format',
  phone_invalid: 'Not a phone number: “{value}”',
  email_invalid: 'Not an email address: “{value}”',
  date_invalid: 'A date must be YYYY-MM-DD or DD.MM.YYYY: “{value}”',
  birth_date_invalid: 'A birth date must be a real date from 1900 on and not in the future: “{value}”',
  gender_invalid: 'Gender: “m” or “f” (male/female, м/ж): “{value}”',
  card_invalid: 'A card number has 1 to 200 Latin letters and digits: “{value}”',
  region_invalid: 'A two-letter country code such as RU: “{value}”',
  email_consent_required: 'Confirm that every email in the base consented to receive mailings',
  member_needs_identity: 'A loyalty member needs a phone or a card number',
  subscriber_needs_email: 'A subscriber needs an email',
  subscriber_only_email: 'A subscriber has an email only; to add a phone or card, set kind = member',
  card_both: 'Give either a card number or generateCard, not both',
  set_once: 'Set once at registration and never changed',
  field_unknown: 'The base has no custom field “{key}”',
  field_int: 'Expected an integer: “{value}”',
  field_float: 'Expected a number: “{value}”',
  field_boolean: 'Expected yes/no (true/false): “{value}”',
  field_date: 'Expected a date YYYY-MM-DD or DD.MM.YYYY: “{value}”',
  field_ip: 'Expected an IP address: “{value}”',
  field_string: 'Expected a string of at most {max} characters',
  field_list_option: '“{value}” is not in the list: {options}',
  field_list_value: 'Expected one value from the list',
  field_tags: 'Expected a list of tags',
  field_key_invalid: 'Key: a Latin letter, then Latin letters, digits or _ (up to 63)',
  field_key_standard: '“{key}” is a standard field',
  field_key_immutable: 'A field key cannot change',
  standard_fixed: 'Standard fields cannot be deleted, renamed or retyped',
  field_type_convert: '{count} stored values do not convert to type “{type}”, e.g. “{example}”',
  list_mode_required: 'A list needs listMode: static or free',
  list_options_required: 'A static list needs options',
  list_only: 'Only for fields of type list',
  default_invalid: 'The default value does not fit the field type: {reason}',
  password_weak: 'A password has at least 10 characters',
  password_wrong: 'The current password is wrong',
  password_same: 'The new password must differ from the current one',
};

/** Both catalogs, for tests and tooling; read-only by convention. */
export const catalogs: Readonly<Record<Lang, Readonly<Record<MessageKey, string>>>> = { ru, en };

export function t(lang: Lang, key: MessageKey, params: Record<string, string | number> = {}): string {
  return catalogs[lang][key].replace(/\{(\w+)\}/g, (_, name: string) => (name in params ? String(params[name]) : `{${name}}`));
}

export function isMessageKey(key: string): key is MessageKey {
  return key in ru;
}

/**
 * Picks ru or en from an Accept-Language header (RFC 9110 §12.5.4): the
 * supported language with the highest weight wins (the first listed on a tie),
 * Russian when neither is asked for. `q=0` means "not acceptable".
 */
export function pickLang(header: string | undefined): Lang {
  if (!header) return 'ru';
  let best: Lang = 'ru';
  let bestQ = 0;
  for (const part of header.split(',')) {
    const [rawTag = '', ...rest] = part.trim().toLowerCase().split(';');
    const tag = rawTag.trim();
    const qParam = rest.map((r) => r.trim()).find((r) => r.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q) || q <= 0) continue;
    const primary = tag.split('-')[0];
    const lang = primary === 'en' ? 'en' : primary === 'ru' ? 'ru' : undefined;
    if (lang && q > bestQ) {
      best = lang;
      bestQ = q;
    }
  }
  return best;
}
