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

/** What the chat rule needs to know about a chat (src/chats). */
export interface ChatAccess {
  status: string;
  responsible: string | null;
  observers: readonly string[];
}

/**
 * The chat part of the one rule (issue 13): a chat in the queue is open to every employee; once someone
 * answered, only its responsible, its observers and supervisors see it and write in it. Applies to the
 * employee an operator token or panel session is bound to, and to the employee 1C acts for.
 */
export function employeeMaySeeChat(employee: string, supervisor: boolean, chat: ChatAccess): boolean {
  if (supervisor) return true;
  if (chat.status === 'queue' && !chat.responsible) return true;
  return chat.responsible === employee || chat.observers.includes(employee);
}

/** Whether the token may see a chat: non-operator roles all; an operator by employeeMaySeeChat. */
export function maySeeChat(p: Principal, chat: ChatAccess, isSupervisor: (extension: string) => boolean): boolean {
  if (p.role !== 'operator') return true;
  return !!p.employee && employeeMaySeeChat(p.employee, isSupervisor(p.employee), chat);
}

/** The extensions a chat's events are addressed to (the event log's scope filter then applies as for calls). */
export function chatAudience(chat: ChatAccess, everyone: readonly string[], supervisors: readonly string[]): string[] {
  const out = new Set<string>(supervisors);
  if (chat.status === 'queue' && !chat.responsible) for (const e of everyone) out.add(e);
  if (chat.responsible) out.add(chat.responsible);
  for (const o of chat.observers) out.add(o);
  return [...out].sort();
}
