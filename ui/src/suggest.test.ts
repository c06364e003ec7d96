import { describe, expect, it } from 'vitest';
import { suggestAppName } from './suggest';

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

describe('suggestAppName', () => {
  it.each([
    ['A tiny todo list with a title and a done flag', 'todo-list'],
    ['Build me an app to track my books and their authors', 'track-books'],
    ['Recipe box: recipes with ingredients and steps', 'recipe-box'],
    ['Build an app: a reading log, with ratings', 'reading-log'],
    ['Plant watering schedule tracker helper', 'plant-watering-schedule'],
    ['Expenses by category', 'expenses'],
    ['  Café  Menü   Planner ', 'cafe-menu-planner'],
    ['I want a simple CRM for my clients', 'crm'],
    ['2024 budget planner for households', 'budget-planner'],
  ])('%j → %s', (prompt, name) => {
    expect(suggestAppName(prompt)).toBe(name);
  });

  it('gives nothing when the prompt has no meaningful words yet', () => {
    expect(suggestAppName('')).toBe('');
    expect(suggestAppName('A simple app with')).toBe('');
    expect(suggestAppName('!!! ...')).toBe('');
  });

  it('stays a DNS label of at most 40 characters, cut at a word break', () => {
    const name = suggestAppName('Internationalisation-ready multilingual documentation portal');
    expect(name.length).toBeLessThanOrEqual(40);
    expect(name).toMatch(DNS_LABEL);
    expect(name).toBe('internationalisation-ready-multilingual');
    const single = suggestAppName('x'.repeat(80));
    expect(single).toBe('x'.repeat(40));
  });

  it('always answers a valid label for arbitrary text', () => {
    for (const prompt of ['-a-', '9 lives', 'ÄÖÜ', 'foo_bar baz', 'a--b', 'Tasks — with due dates']) {
      const name = suggestAppName(prompt);
      if (name) expect(name).toMatch(DNS_LABEL);
    }
  });
});
