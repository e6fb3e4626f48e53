/**
 * The Lua and the TypeScript that calls it name the same things alike:
 * each session script reads its ARGV and the session's fields by the names
 * fields.ts lists, in the order `argv` sends them; no script reads a position.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import {
  argv,
  commonArgs,
  luaField,
  scriptArgs,
  sessionFields,
  type ArgsOf,
  type SessionScript,
} from '../lib/stores/redis/fields.js';
import { scripts } from '../lib/stores/redis/scripts.js';

const sessionScripts = Object.keys(scriptArgs) as SessionScript[];

/** ARGV index -> name, as the script's Lua declares it (`local a, b = ARGV[1], ARGV[2]`). */
function declaredArgv(lua: string): Map<number, string> {
  const declared = new Map<number, string>();
  for (const [, names, values] of lua.matchAll(/^local ([\w, ]+) = ((?:ARGV\[\d+\](?:, )?)+)$/gm)) {
    const indexes = [...values!.matchAll(/ARGV\[(\d+)\]/g)].map((match) => Number(match[1]));
    const list = names!.split(', ');
    expect(list, `one name per value in: local ${names} = ${values}`).to.have.length(indexes.length);
    indexes.forEach((index, i) => {
      expect(declared.has(index), `ARGV[${index}] declared twice`).to.equal(false);
      declared.set(index, list[i]!);
    });
  }
  return declared;
}

/** Field name -> number, as the Lua declares them (`local JTI, PREVIOUS = 1, 2`). */
function declaredFields(lua: string): Map<string, number> {
  const match = /^local ([A-Z_, ]+) = ([\d, ]+)$/m.exec(lua);
  expect(match, 'the session fields are declared').to.not.equal(null);
  const names = match![1]!.split(', ');
  const numbers = match![2]!.split(', ').map(Number);
  expect(names).to.have.length(numbers.length);
  return new Map(names.map((name, i) => [name, numbers[i]!]));
}

/** The Lua with its declaration lines taken out: what reads the names. */
function body(lua: string): string {
  return lua.replace(/^local [\w, ]+ = (?:(?:ARGV\[\d+\]|\d+)(?:, )?)+$/gm, '');
}

describe('Redis scripts: named arguments and session fields (lib/stores/redis/fields.ts)', () => {
  for (const name of sessionScripts) {
    describe(name, () => {
      const lua = scripts[name].source;

      it('declares ARGV[1..n] under the names argv() sends them by, in the same order', () => {
        const values = Object.fromEntries([...commonArgs, ...scriptArgs[name]].map((arg) => [arg, `<${arg}>`]));
        const sent = argv(name, values as ArgsOf<typeof name>);
        const declared = declaredArgv(lua);
        expect([...declared.keys()].sort((a, b) => a - b)).to.deep.equal(sent.map((_, i) => i + 1));
        for (const [index, arg] of declared) expect(sent[index - 1], `ARGV[${index}]`).to.equal(`<${arg}>`);
      });

      it('reads no ARGV position outside that declaration, and uses every name it declares', () => {
        const rest = body(lua);
        expect(rest).to.not.match(/ARGV\[/);
        for (const arg of declaredArgv(lua).values()) {
          expect(rest, `${name} never reads ${arg}`).to.match(new RegExp(`\\b${arg}\\b`));
        }
      });

      it('numbers the session fields as sessionFields lists them, and indexes no session by number', () => {
        const fields = declaredFields(lua);
        expect([...fields]).to.deep.equal(sessionFields.map((field, i) => [luaField(field), i + 1]));
        const rest = body(lua);
        // Positions remain only where they are not a session: the TIME reply `t`, the
        // single-session string `one` ({sid, session}), KEYS.
        for (const [access, owner] of rest.matchAll(/\b(\w+)\[\s*\d+\s*\]/g)) {
          expect(['t', 'one', 'KEYS'], `positional ${access}`).to.include(owner);
        }
        for (const [, used] of rest.matchAll(/\[([A-Z][A-Z_]*)\]/g)) {
          if (used !== 'KEYS') expect(fields.has(used!), `${used} is a session field`).to.equal(true);
        }
      });
    });
  }

  it('the header of scripts.ts documents each field under its number and Lua name', () => {
    const source = readFileSync(new URL('../lib/stores/redis/scripts.ts', import.meta.url), 'utf8');
    const header = source.slice(0, source.indexOf('const prelude'));
    sessionFields.forEach((field, i) => {
      expect(header, `field ${i + 1}`).to.match(new RegExp(`\\b${i + 1} ${luaField(field)}\\b`));
    });
  });

  it('the compiler asks for every argument by name', () => {
    // @ts-expect-error grace is missing
    const missing: ArgsOf<'revoke'> = {
      callerMs: '',
      revocationTtl: '0',
      deadline: '',
      sid: 's',
      presented: '',
      presentedIat: '',
    };
    expect(argv('revoke', missing)).to.include(undefined);
  });
});
