/**
 * The htu comparison (RFC 9449 §4.3, RFC 3986 §6.2.2-6.2.3): spellings of
 * one URI compare equal, other URIs and spellings only a lenient parser
 * reads do not.
 */
import { expect } from 'chai';
import { normalizeHtu } from '../lib/dpop/index.js';

describe('DPoP htu normalisation', () => {
  const same: Array<[string, string]> = [
    ['https://api.example.com/orders?page=2', 'query dropped'],
    ['https://api.example.com/orders#top', 'fragment dropped'],
    ['https://api.example.com/orders?a#b', 'query and fragment dropped'],
    ['HTTPS://API.Example.COM/orders', 'scheme and host lower-cased'],
    ['https://api.example.com:443/orders', 'default port dropped'],
    ['https://api.example.com:/orders', 'empty port dropped'],
    ['https://api.example.com/./orders', 'dot segment removed'],
    ['https://api.example.com/x/../orders', 'dot-dot segment removed'],
    ['https://api.example.com/%6Frders', 'unreserved character decoded'],
    ['https://api.example.com/%6frders', 'unreserved character decoded, lower-case hex'],
  ];
  for (const [spelling, why] of same) {
    it(`${spelling} names https://api.example.com/orders (${why})`, () => {
      expect(normalizeHtu(spelling)).to.equal('https://api.example.com/orders');
    });
  }

  it('keeps reserved percent-encodings, with upper-case hex', () => {
    expect(normalizeHtu('https://a.example/a%2fb')).to.equal('https://a.example/a%2Fb');
    expect(normalizeHtu('https://a.example/a%2Fb')).not.to.equal(normalizeHtu('https://a.example/a/b'));
    expect(normalizeHtu('https://a.example/%7euser')).to.equal('https://a.example/~user');
    expect(normalizeHtu('https://a.example/caf%c3%a9')).to.equal('https://a.example/caf%C3%A9');
  });

  it('gives an empty path as /, and keeps a trailing slash', () => {
    expect(normalizeHtu('https://a.example')).to.equal('https://a.example/');
    expect(normalizeHtu('https://a.example/x/')).to.equal('https://a.example/x/');
    expect(normalizeHtu('https://a.example/x/')).not.to.equal(normalizeHtu('https://a.example/x'));
  });

  it('keeps a port that is not the default, and tells the schemes apart', () => {
    expect(normalizeHtu('http://a.example:80/x')).to.equal('http://a.example/x');
    expect(normalizeHtu('https://a.example:8443/x')).to.equal('https://a.example:8443/x');
    expect(normalizeHtu('http://a.example:443/x')).to.equal('http://a.example:443/x');
    expect(normalizeHtu('http://a.example/x')).not.to.equal(normalizeHtu('https://a.example/x'));
  });

  it('keeps a trailing dot in the host: example.com. is another name', () => {
    expect(normalizeHtu('https://a.example./x')).to.equal('https://a.example./x');
  });

  it('takes IP literals as written', () => {
    expect(normalizeHtu('http://127.0.0.1:3000/x')).to.equal('http://127.0.0.1:3000/x');
    expect(normalizeHtu('http://[::1]:3000/x')).to.equal('http://[::1]:3000/x');
  });

  it('takes an IDN host in its xn-- form only', () => {
    expect(normalizeHtu('https://XN--BCHER-KVA.example/x')).to.equal('https://xn--bcher-kva.example/x');
    expect(normalizeHtu('https://bücher.example/x')).to.equal(undefined);
  });

  const refused: Array<[string, string]> = [
    ['/orders', 'relative'],
    ['//a.example/x', 'scheme-relative'],
    ['ftp://a.example/x', 'not http(s)'],
    ['https:a.example/x', 'no //'],
    ['https:///x', 'no host'],
    ['https://user@a.example/x', 'userinfo'],
    ['https://user:pw@a.example/x', 'userinfo with a password'],
    ['http://[::1]@[::1]/x', 'userinfo that looks like the host'],
    ['https://a.example/a b', 'a space'],
    ['https://a.example\\x', 'a backslash'],
    ['https://a.example/x\n', 'a line break'],
    ['https://a.example/%zz', 'a broken percent-encoding'],
    ['https://a.example/%4', 'a cut percent-encoding'],
    ['https://ex%61mple.com/x', 'a percent-encoded host'],
    ['https://0x7f.1/x', 'an IPv4 address in hex and short form'],
    ['https://2130706433/x', 'an IPv4 address as one number'],
    ['https://[0:0::1]/x', 'a non-canonical IPv6 address'],
    ['https://a.example:99999/x', 'a port out of range'],
    ['https://a.example:x/x', 'a port that is not a number'],
    ['', 'empty'],
  ];
  for (const [value, why] of refused) {
    it(`refuses ${JSON.stringify(value)} (${why})`, () => {
      expect(normalizeHtu(value)).to.equal(undefined);
    });
  }
});
