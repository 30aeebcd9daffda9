import { RIGHTS } from '../employees/employee-input';
import { deleteOperation, errorResponses, json, nullable, readOperation, ref, refSchema, replaceOperation, syncFinishPath, syncRunProperty } from './openapi-parts';

/** OpenAPI parts for employees, their groups and presence (issue 11, T10). */

const errors = errorResponses;
const security = [{ bearer: [] }];
const extSchema = { type: 'string', pattern: '^[0-9]{2,6}$' };
const extParam = { name: 'extension', in: 'path', required: true, description: 'The employee\'s extension (2 to 6 digits).', schema: extSchema };
const groupParam = { name: 'id', in: 'path', required: true, description: 'The group\'s 1C reference.', schema: refSchema };
const rights = { type: 'array', items: { type: 'string', enum: RIGHTS } };

const presenceProperties = {
  presence: {
    type: 'string',
    enum: ['offline', 'online', 'busy'],
    description: 'offline: no phone registered; online: registered, on no call; busy: on a call (`reason`).',
  },
  reason: nullable({
    type: 'string',
    enum: ['ringing', 'talking', 'held', 'supervising'],
    description: 'Why busy: ringing (a phone rings, or the employee dials out), talking, held (their call is on hold), supervising (listen/whisper/barge); null unless busy.',
  }),
  since: nullable({ type: 'string', format: 'date-time', description: 'When the presence became what it is; null for an extension never seen.' }),
  registrations: { type: 'integer', description: 'Phones (SIP registrations) of the extension right now.' },
  callIds: { type: 'array', items: { type: 'string' }, description: 'Live calls the extension is on.' },
};

export const employeeSchemas = {
  Presence: { type: 'object', required: ['presence', 'reason', 'since', 'registrations', 'callIds'], properties: presenceProperties },
  EmployeeFields: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', maxLength: 300, description: 'Full name (ФИО).' },
      userRef: nullable({ ...refSchema, description: 'The 1C user (Пользователь) reference, GUID.' }),
      groups: { type: 'array', maxItems: 100, items: refSchema, description: 'Group references; their rights apply (a group not synced yet grants nothing).' },
      rights: { ...rights, description: 'Rights granted to the employee themself.' },
      login: nullable({ type: 'string', pattern: '^[\\p{L}\\p{N}._@-]{1,64}$', description: 'Panel sign-in name (stored in lower case, unique); null removes the credentials and ends the employee\'s sessions; omitted: unchanged.' }),
      password: { type: 'string', minLength: 8, maxLength: 256, format: 'password', writeOnly: true, description: 'Panel password, stored as a salted scrypt hash and never returned; needs a login; a new one ends the employee\'s sessions (the same one again changes nothing); omitted: unchanged.' },
    },
  },
  EmployeeInput: { allOf: [{ type: 'object', required: ['extension'], properties: { extension: extSchema } }, ref('EmployeeFields')] },
  GroupFields: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', maxLength: 300 }, rights } },
  GroupInput: { allOf: [{ type: 'object', required: ['id'], properties: { id: refSchema } }, ref('GroupFields')] },
  Employee: {
    type: 'object',
    required: ['extension', 'name', 'userRef', 'groups', 'rights', 'effectiveRights', 'supervisor', 'login', 'hasPassword', 'createdAt', 'updatedAt', 'presence', 'reason', 'since', 'registrations', 'callIds'],
    properties: {
      extension: { type: 'string' },
      name: { type: 'string' },
      userRef: nullable({ type: 'string' }),
      groups: { type: 'array', items: { type: 'string' } },
      rights: { ...rights, description: 'Granted to the employee themself.' },
      effectiveRights: { ...rights, description: 'Their own and their groups\' rights.' },
      supervisor: { type: 'boolean', description: 'Holds the supervisor right (themself or through a group).' },
      login: nullable({ type: 'string', description: 'Panel sign-in name, or null.' }),
      hasPassword: { type: 'boolean', description: 'A panel password is set (it is never shown).' },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
      ...presenceProperties,
    },
  },
  EmployeeGroup: {
    type: 'object',
    properties: { id: { type: 'string' }, name: { type: 'string' }, rights, members: { type: 'array', items: { type: 'string' }, description: 'Extensions.' } },
  },
};

export const employeePaths = {
  '/employees/sync': {
    post: {
      summary: 'Bulk sync of employees and groups from 1C (admin, integration): all or nothing per batch (400 naming the field, e.g. `employees[3].extension`); '
        + 'idempotent (each employee and group replaces its whole record); groups first, then employees, then deletions.',
      security,
      requestBody: {
        required: true,
        content: json({
          type: 'object',
          additionalProperties: false,
          properties: {
            run: syncRunProperty('/employees', 'employees'),
            employees: { type: 'array', maxItems: 5000, items: ref('EmployeeInput') },
            groups: { type: 'array', maxItems: 1000, items: ref('GroupInput') },
            deleted: { type: 'array', maxItems: 5000, items: extSchema, description: 'Extensions to delete.' },
            deletedGroups: { type: 'array', maxItems: 1000, items: refSchema },
          },
        }),
      },
      responses: {
        '200': {
          description: 'Applied; counts of what the batch carried (`deleted`: employees that existed).',
          content: json({ type: 'object', properties: { upserted: { type: 'integer' }, deleted: { type: 'integer' }, groups: { type: 'integer' }, deletedGroups: { type: 'integer' }, ms: { type: 'integer' } } }),
        },
        ...errors(400, 401, 403, 413, 415),
      },
    },
  },
  '/employees/sync/finish': syncFinishPath('End a full sync run: employees not sent in it are deleted.'),
  '/employees': {
    get: {
      summary: 'Employees with presence (any role), by extension; `unconfigured`: extensions registered or on a call that no employee record names.',
      security,
      parameters: [
        { name: 'presence', in: 'query', required: false, description: 'Only employees with this presence.', schema: { type: 'string', enum: ['offline', 'online', 'busy'] } },
        { name: 'group', in: 'query', required: false, description: 'Only members of this group.', schema: refSchema },
      ],
      responses: {
        '200': {
          description: 'The employees.',
          content: json({
            type: 'object',
            required: ['items', 'unconfigured'],
            properties: {
              items: { type: 'array', items: ref('Employee') },
              unconfigured: { type: 'array', items: { allOf: [{ type: 'object', properties: { extension: { type: 'string' } } }, ref('Presence')] } },
            },
          }),
        },
        ...errors(400, 401, 403),
      },
    },
  },
  '/employees/{extension}': {
    get: readOperation('One employee with presence.', extParam, 'The employee.', ref('Employee')),
    put: replaceOperation('Create or replace one employee (admin, integration).', extParam, ref('EmployeeFields'), ref('Employee')),
    delete: deleteOperation('Delete one employee (admin, integration). Their calls keep the extension; their presence stays listed under `unconfigured` while their phone is registered.', extParam),
  },
  '/employee-groups': {
    get: {
      summary: 'Employee groups with their rights and members (any role).',
      security,
      responses: { '200': { description: 'Groups.', content: json({ type: 'object', properties: { items: { type: 'array', items: ref('EmployeeGroup') } } }) }, ...errors(400, 401, 403) },
    },
  },
  '/employee-groups/{id}': {
    put: replaceOperation(
      'Create or replace one group (admin, integration); its rights apply to every member at once.',
      groupParam,
      ref('GroupFields'),
      { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, rights } },
    ),
    delete: deleteOperation('Delete one group (admin, integration); members keep their own rights.', groupParam),
  },
};
