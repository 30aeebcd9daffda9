/**
 * Who sees and who writes: the one scope rule (src/auth/scope.ts) applied to chats, the audience an event
 * about a chat goes to, the actor a request acts as, and @mentions.
 *
 * Chats on an employee's own account (MessengerAdapter.owner, e.g. his Telegram) need no rule of their own:
 * they are created in work with him responsible (src/chats/inbound.ts) and never return to the queue, so
 * this same rule shows them to him, to the observers he adds (or hands over to) and to supervisors —
 * supervisors see every chat, these too, as they do for calls. Colleagues neither see nor write in them.
 */
import { chatAudience, employeeMaySeeChat } from '../auth/scope';
import type { Employees } from '../employees/employees';
import { Actor, ChatError, ChatView, Viewer } from './types';

/** The actor for an extension; the supervisor right from the role or from 1C. */
export function actorOf(employees: Employees, extension: string, supervisorRole = false): Actor {
  if (!employees.get(extension)) throw new ChatError(400, 'invalid_employee', `no employee with extension ${extension}`, 'employee');
  return { employee: extension, supervisor: supervisorRole || employees.isSupervisor(extension) };
}

/** Whether the viewer may see the chat: everyone-viewers always, an employee by the scope rule. */
export function maySee(v: Viewer, chat: ChatView): boolean {
  if ('all' in v) return true;
  return employeeMaySeeChat(v.employee, v.supervisor, chat);
}

/** Whether the actor may write in the chat now (the queue: anyone; then responsible, observers, supervisors). */
export function mayWrite(a: Actor, chat: ChatView): boolean {
  return employeeMaySeeChat(a.employee, a.supervisor, chat);
}

/**
 * Whether a request may start chats from an account or check numbers through it: a company account
 * (a bot, WhatsApp) anyone with chat rights; an employee's own account (MessengerAdapter.owner, his
 * Telegram) only that employee — a colleague or a supervisor would write, or import a contact, as him.
 * `viewer` without an employee (admin, integration) never uses a personal account.
 */
export function mayUseAccount(v: Viewer, account: { owner?: string }): boolean {
  if (!account.owner) return true;
  return !!v.employee && v.employee === account.owner;
}

/** The employees an event about the chat goes to. */
export function audience(employees: Employees, chat: { status: string; responsible: string | null; observers: string[] }): string[] {
  return chatAudience(chat, employees.list().map((e) => e.extension), employees.supervisors());
}

/** Employees @mentioned in a text: by login or by extension. */
export function mentionsIn(employees: Employees, text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/(?:^|[^\p{L}\p{N}_.@-])@([\p{L}\p{N}_.-]{2,64})/gu)) {
    const name = m[1].replace(/[.]+$/, '').toLowerCase();
    const e = employees.get(name) ?? employees.byLogin(name);
    if (e) out.add(e.extension);
  }
  return [...out];
}
