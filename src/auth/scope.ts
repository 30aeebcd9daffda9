import { Principal } from './tokens';

/** The token may not do this (403); `field` names the parameter that asked for too much. */
export class ForbiddenError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * The one rule of what an employee-bound token sees: an operator acts only as their own extension (their
 * calls, their events, their phone for click-to-call). Other roles pass through whatever they asked for.
 * Returns the extension to filter by.
 */
export function employeeScope(p: Principal, requested: string | undefined, field = 'employee'): string | undefined {
  if (p.role !== 'operator') return requested;
  if (!p.employee) throw new ForbiddenError('this operator token names no extension; an admin must issue one with "employee"');
  if (requested !== undefined && requested !== p.employee) {
    throw new ForbiddenError(`an operator acts only as their own extension ${p.employee}`, field);
  }
  return p.employee;
}

/** Whether the token may see a call the given extensions took part in. */
export function maySeeCall(p: Principal, employees: readonly string[]): boolean {
  return p.role !== 'operator' || (!!p.employee && employees.includes(p.employee));
}

/**
 * Who may hear a call's recordings: supervisors and admins all; an operator the calls they took part in;
 * the integration role (1C) as configured.
 */
export function mayHearRecordings(p: Principal, employees: readonly string[], integration: 'all' | 'none'): boolean {
  if (p.role === 'integration') return integration === 'all';
  return maySeeCall(p, employees);
}
