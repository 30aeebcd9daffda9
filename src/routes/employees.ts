import { Router } from 'express';
import { z } from 'zod';
import { TokenService } from '../auth/tokens';
import { REF_RE } from '../directory/customer-input';
import {
  EMPLOYEE_EXTENSION_RE, employeeFieldsSchema, groupFieldsSchema, prepareEmployee, prepareEmployees, prepareGroup, prepareGroups,
} from '../employees/employee-input';
import { Employees } from '../employees/employees';
import { employeeListing, employeeWithPresence, Presence, PresenceState } from '../employees/presence';
import { requireRole } from './auth';
import { ApiError, jsonBody, route } from './errors';
import { bad, rejectUnknown, single } from './query';
import { syncFinishRoute, syncRunSchema } from './sync-run';

const ALL = ['admin', 'supervisor', 'operator', 'integration'] as const;
const SYNC = ['admin', 'integration'] as const;
const PRESENCES: readonly PresenceState[] = ['offline', 'online', 'busy'];

const syncBody = z.object({
  /** A full sync: every batch names the same run; `POST /employees/sync/finish` then drops the rest. */
  run: syncRunSchema.optional(),
  employees: z.unknown().optional(),
  groups: z.unknown().optional(),
  deleted: z.array(z.string().regex(EMPLOYEE_EXTENSION_RE, 'must be an extension: 2 to 6 digits')).max(5000).optional(),
  deletedGroups: z.array(z.string().regex(REF_RE, 'must be a 1C reference')).max(1000).optional(),
}).strict();

function extParam(v: string): string {
  if (!EMPLOYEE_EXTENSION_RE.test(v)) throw new ApiError(400, 'invalid_parameter', 'extension must be 2 to 6 digits', 'extension');
  return v;
}

function groupParam(v: string): string {
  if (!REF_RE.test(v)) throw new ApiError(400, 'invalid_parameter', 'id must be a 1C reference (GUID)', 'id');
  return v;
}

/**
 * Employees and their presence (issue 11, T10): bulk sync from 1C (admin, integration; all or nothing per
 * batch, 400 naming the field, e.g. `employees[3].extension`), single records, groups; reading is open to
 * every role (operators see colleagues' presence to choose whom to transfer to).
 */
export function employeesRouter(tokens: TokenService, employees: Employees, presence: Presence): Router {
  const r = Router();
  const all = requireRole(tokens, ALL);
  const sync = requireRole(tokens, SYNC);

  r.post(
    '/employees/sync',
    sync,
    route(async (req, res) => {
      const t0 = Date.now();
      const body = jsonBody(req, syncBody);
      // Everything is checked before anything is written: one bad field refuses the whole batch.
      const groups = body.groups === undefined ? [] : prepareGroups(body.groups, 'groups');
      const list = body.employees === undefined ? [] : prepareEmployees(body.employees, 'employees');
      const out = await employees.sync({ employees: list, groups, deleted: body.deleted, deletedGroups: body.deletedGroups, run: body.run });
      res.json({ ...out, ms: Date.now() - t0 });
    }),
  );

  syncFinishRoute(r, '/employees/sync/finish', sync, (run) => employees.finishSyncRun(run));

  r.get(
    '/employees',
    all,
    route(async (req, res) => {
      const query = req.query as Record<string, unknown>;
      rejectUnknown(query, new Set(['presence', 'group']));
      const p = single(query, 'presence');
      if (p !== undefined && !PRESENCES.includes(p as PresenceState)) throw bad('presence', `presence must be one of ${PRESENCES.join(', ')}`);
      const group = single(query, 'group');
      if (group !== undefined && !REF_RE.test(group)) throw bad('group', 'group must be a 1C reference (GUID)');
      res.json(employeeListing(employees, presence, { presence: p as PresenceState | undefined, group }, req.principal));
    }),
  );

  r.get(
    '/employees/:extension',
    all,
    route(async (req, res) => {
      const ext = extParam(req.params.extension);
      const e = employeeWithPresence(employees, presence, ext, req.principal);
      if (!e) throw new ApiError(404, 'not_found', `no employee with extension ${ext}`, 'extension');
      res.json(e);
    }),
  );

  r.put(
    '/employees/:extension',
    sync,
    route(async (req, res) => {
      const ext = extParam(req.params.extension);
      const body = jsonBody(req, employeeFieldsSchema);
      const out = await employees.put(prepareEmployee(ext, body));
      res.status(out.created ? 201 : 200).json(employeeWithPresence(employees, presence, ext, req.principal));
    }),
  );

  r.delete(
    '/employees/:extension',
    sync,
    route(async (req, res) => {
      const ext = extParam(req.params.extension);
      if (!(await employees.delete(ext))) throw new ApiError(404, 'not_found', `no employee with extension ${ext}`, 'extension');
      res.status(204).end();
    }),
  );

  r.get(
    '/employee-groups',
    all,
    route(async (req, res) => {
      rejectUnknown(req.query as Record<string, unknown>, new Set());
      res.json({ items: employees.groupViews() });
    }),
  );

  r.put(
    '/employee-groups/:id',
    sync,
    route(async (req, res) => {
      const id = groupParam(req.params.id);
      const body = jsonBody(req, groupFieldsSchema);
      const out = await employees.putGroup(prepareGroup(id, body));
      res.status(out.created ? 201 : 200).json({ id: out.group.id, name: out.group.name, rights: out.group.rights });
    }),
  );

  r.delete(
    '/employee-groups/:id',
    sync,
    route(async (req, res) => {
      const id = groupParam(req.params.id);
      if (!(await employees.deleteGroup(id))) throw new ApiError(404, 'not_found', `no group ${id}`, 'id');
      res.status(204).end();
    }),
  );
  return r;
}
