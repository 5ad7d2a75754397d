import assert from 'node:assert/strict';
import { parseMessage } from '../../../src/mime/parse';
import { bodyText, headerText } from '../../../src/mime/text';
import { crlf } from './helpers';

describe('mime/text: text for SEARCH', () => {
  it('decodes encoded words (RFC 2047) and raw UTF-8 (RFC 6532) in each occurrence', () => {
    const raw = Buffer.from('Subject: =?utf-8?q?caf=C3=A9?= =?ISO-8859-1?B?6Q==?=\r\nsubject: \xc3\xa9t\xc3\xa9\r\nX: 1\r\n\r\n', 'latin1');
    assert.deepEqual(headerText(raw, parseMessage(raw), 'SUBJECT'), ['caféé', 'été']);
    assert.deepEqual(headerText(raw, parseMessage(raw), 'missing'), []);
  });

  it('collects text parts decoded from CTE and charset, and skips other parts', () => {
    const raw = crlf(
      'Content-Type: multipart/mixed; boundary=b\n\npreamble\n--b\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\ncaf=E9\n' +
        '--b\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\nPGI+w6k8L2I+\n' +
        '--b\nContent-Type: application/pdf\n\nSECRET\n' +
        '--b\nContent-Type: message/rfc822\n\nSubject: in\nContent-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: 8bit\n\n\xf0\xd2\xc9\xd7\xc5\xd4\n--b--\n',
    );
    const text = bodyText(raw, parseMessage(raw));
    assert.equal(text, 'café\n<b>é</b>\nПривет');
  });

  it('decodes Japanese charsets and treats unknown ones as UTF-8', () => {
    const sjis = Buffer.concat([crlf('Content-Type: text/plain; charset=Shift_JIS\n\n'), Buffer.from([0x82, 0xa0])]);
    assert.equal(bodyText(sjis, parseMessage(sjis)), 'あ');
    const unknown = Buffer.concat([crlf('Content-Type: text/plain; charset=x-nothing\n\n'), Buffer.from('é', 'utf8')]);
    assert.equal(bodyText(unknown, parseMessage(unknown)), 'é');
  });
});
