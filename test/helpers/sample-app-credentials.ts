/**
 * The email and password checks of the end-to-end suite (see
 * `describeFlows`): one account per mailbox, malformed bodies, bcrypt's
 * 72-byte limit, look-alike and invisible characters, and the same 401 for
 * an unknown email as for a wrong password.
 */
import { expect } from 'chai';
import request from 'supertest';
import type { SampleApp } from '../../sample-app/app.js';
import { email, logIn, PASSWORD, signUp } from './sample-app.js';

/** Registers the checks in the caller's describe; `current()` is the app its beforeEach made. */
export function describeCredentialChecks(current: () => SampleApp): void {
  let app: SampleApp;
  beforeEach(() => {
    app = current();
  });

  it('refuses a second account for the same email, whatever its case, with 409 email_taken', async () => {
    const address = email();
    await signUp(app, address);
    for (const variant of [address, address.toUpperCase()]) {
      const res = await request(app.app).post('/auth/register').send({ email: variant, password: 'another password' });
      expect(res.status).to.equal(409);
      expect(res.body).to.deep.equal({ error: 'email_taken', message: 'an account with this email already exists' });
    }
    // The first password still works: the refused attempts changed nothing.
    await logIn(app, address);
  });

  it('answers 400 invalid_request naming the problem for each malformed register or login body', async () => {
    const ok = email();
    const cases: Array<[path: string, body: unknown, message: string]> = [
      ['/auth/register', undefined, 'body must be a JSON object with email and password'],
      ['/auth/register', [ok, PASSWORD], 'body must be a JSON object with email and password'],
      ['/auth/register', { password: PASSWORD }, 'email must be a string'],
      ['/auth/register', { email: 42, password: PASSWORD }, 'email must be a string'],
      ['/auth/register', { email: ok }, 'password must be a string'],
      ['/auth/register', { email: ok, password: 12345678 }, 'password must be a string'],
      ['/auth/register', { email: 'not-an-email', password: PASSWORD }, 'email is not a valid address'],
      ['/auth/register', { email: 'a b@example.com', password: PASSWORD }, 'email is not a valid address'],
      [
        '/auth/register',
        { email: `${'x'.repeat(250)}@example.com`, password: PASSWORD },
        'email is not a valid address',
      ],
      ['/auth/register', { email: ok, password: 'seven77' }, 'password must be at least 8 characters'],
      // Four emoji are 8 UTF-16 units but 4 characters: counting units would let them through.
      ['/auth/register', { email: ok, password: '😀😀😀😀' }, 'password must be at least 8 characters'],
      ['/auth/register', { email: ok, password: '😀'.repeat(19) }, 'password must be at most 72 bytes'],
      ['/auth/register', { email: ok, password: 'é'.repeat(37) }, 'password must be at most 72 bytes'],
      ['/auth/login', { email: null, password: PASSWORD }, 'email must be a string'],
      ['/auth/login', { email: ok, password: '' }, 'password is required'],
      ['/auth/login', { email: ok, password: 'x'.repeat(73) }, 'password must be at most 72 bytes'],
    ];
    for (const [path, body, message] of cases) {
      const req = request(app.app).post(path);
      const res = await (body === undefined ? req : req.send(body as object));
      expect(res.status, `${path} ${JSON.stringify(body)}`).to.equal(400);
      expect(res.body, `${path} ${JSON.stringify(body)}`).to.deep.equal({ error: 'invalid_request', message });
    }
    // None of them created the account.
    const login = await request(app.app).post('/auth/login').send({ email: ok, password: PASSWORD });
    expect(login.status).to.equal(401);
  });

  it('accepts a password of exactly 72 bytes, and a longer login is refused rather than cut to match it', async () => {
    const address = email();
    const longest = 'p'.repeat(72);
    await signUp(app, address, longest);
    await logIn(app, address, longest);
    // bcrypt would compare only the first 72 bytes: without the length check this would log in.
    const longer = await request(app.app)
      .post('/auth/login')
      .send({ email: address, password: `${longest}!` });
    expect(longer.status).to.equal(400);
    await signUp(app, email(), 'eight888');
    // Characters, not UTF-16 units or bytes: 8 emoji (32 bytes) are enough, 18 (72 bytes) are the most.
    for (const password of ['😀'.repeat(8), '😀'.repeat(18)]) {
      const address2 = email();
      await signUp(app, address2, password);
      await logIn(app, address2, password);
    }
  });

  it('maps case, full-width (NFKC) and trailing-dot spellings of an email to the one account', async () => {
    const address = email('ann');
    const user = await signUp(app, address);
    const [local = '', domain = ''] = address.split('@');
    const fullWidth = (text: string): string =>
      text.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
    const variants = [
      address.toUpperCase(),
      fullWidth(address), // ａｎｎ…＠ｅｘａｍｐｌｅ．ｃｏｍ
      `${fullWidth(local.slice(0, 1))}${local.slice(1)}@${domain}`,
      `${address}.`, // the DNS root: the same domain
      `${local}@${domain.replace('.', '\u3002')}`, // an ideographic full stop separates labels in IDNA
      `${local}@${domain.toUpperCase()}\u3002`,
    ];
    for (const variant of variants) {
      const taken = await request(app.app)
        .post('/auth/register')
        .send({ email: variant, password: 'another password' });
      expect(taken.status, JSON.stringify(variant)).to.equal(409);
      expect(taken.body).to.include({ error: 'email_taken' });
      const login = await logIn(app, variant);
      expect(login.user, JSON.stringify(variant)).to.deep.equal(user);
    }
  });

  it('refuses emails with control, format or invisible characters instead of creating look-alike accounts', async () => {
    const address = email('ann');
    await signUp(app, address);
    const [local = '', domain = ''] = address.split('@');
    const cases = [
      `${address}\u200b`,
      `\u200b${address}`,
      `${local}\u200c@${domain}`,
      `${local}@\u200d${domain}`, // zero-width
      `${local}\u0000@${domain}`,
      `${address}\r\n`,
      `${local}\r\nBcc: x@${domain}`,
      `${address}\t`, // NUL, CR/LF, tab
      `\ufeff${address}`,
      `${local}\u2060@${domain}`,
      `\u202e${address}`,
      `${local}\u00ad@${domain}`, // BOM, word joiner, RTL override, soft hyphen
      `${local}\u0085@${domain}`,
      `${local}\u3164@${domain}`,
      `${local}\ufe0f@${domain}`, // C1 NEL, Hangul filler, variation selector
    ];
    for (const variant of cases) {
      for (const path of ['/auth/register', '/auth/login']) {
        const res = await request(app.app).post(path).send({ email: variant, password: PASSWORD });
        expect(res.status, `${path} ${JSON.stringify(variant)}`).to.equal(400);
        expect(res.body).to.deep.equal({
          error: 'invalid_request',
          message: 'email must not contain control or invisible characters',
        });
      }
    }
    for (const bad of [
      `${address}..`,
      `${local}@.${domain}`,
      `${local}@${domain.replace('.', '..')}`,
      `${local}@[127.0.0.1]`,
    ]) {
      const res = await request(app.app).post('/auth/register').send({ email: bad, password: PASSWORD });
      expect(res.status, JSON.stringify(bad)).to.equal(400);
      expect(res.body).to.deep.equal({ error: 'invalid_request', message: 'email is not a valid address' });
    }
  });

  it('refuses emails with lone surrogates, which Redis would store as U+FFFD and so merge into one account', async () => {
    const [local = '', domain = ''] = email('bob').split('@');
    const lone = [
      `${local}\ud800@${domain}`,
      `${local}\udfff@${domain}`,
      `\udbff${local}@${domain}`,
      `${local}@${domain}\udc00`,
    ];
    for (const variant of lone) {
      for (const path of ['/auth/register', '/auth/login']) {
        const res = await request(app.app).post(path).send({ email: variant, password: PASSWORD });
        expect(res.status, `${path} ${JSON.stringify(variant)}`).to.equal(400);
        expect(res.body).to.deep.equal({
          error: 'invalid_request',
          message: 'email must not contain control or invisible characters',
        });
      }
    }
    // U+FFFD itself is a character like any other: its account is the only one, and a pair of surrogates is an emoji.
    const replacement = `${local}\ufffd@${domain}`;
    expect((await signUp(app, replacement)).email).to.equal(replacement);
    await logIn(app, replacement);
    await signUp(app, `${local}\ud83d\ude00@${domain}`);
    // bcryptjs encodes a lone surrogate as its own three bytes (not U+FFFD): such passwords stay distinct.
    const address = email('pat');
    await signUp(app, address, 'pass\ud800word');
    await logIn(app, address, 'pass\ud800word');
    for (const other of ['pass\udfffword', 'pass\ufffdword']) {
      const res = await request(app.app).post('/auth/login').send({ email: address, password: other });
      expect(res.status, JSON.stringify(other)).to.equal(401);
    }
  });

  it('answers an unknown email and a wrong password with the same 401 body', async () => {
    const address = email();
    await signUp(app, address);
    const wrong = await request(app.app).post('/auth/login').send({ email: address, password: 'not the password' });
    const unknown = await request(app.app)
      .post('/auth/login')
      .send({ email: email('nobody'), password: 'not the password' });
    expect(wrong.status).to.equal(401);
    expect(unknown.status).to.equal(401);
    expect(wrong.body).to.deep.equal({ error: 'invalid_credentials', message: 'email or password is incorrect' });
    expect(unknown.body).to.deep.equal(wrong.body);
    expect(unknown.headers['www-authenticate']).to.equal(wrong.headers['www-authenticate']);
  });
}
