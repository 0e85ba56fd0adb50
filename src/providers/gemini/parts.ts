/**
 * OpenAI content parts → Gemini `Part`s: text, images (inline or by URL), audio and files.
 */
import type { Part } from '@google/genai';
import type {
  ChatCompletionContentPart,
  ChatCompletionContentPartImage,
  ChatCompletionContentPartInputAudio,
} from 'openai/resources/chat/completions';
import { BadRequestError } from '../../core/errors.js';

const MIME_BY_EXTENSION: Readonly<Record<string, string>> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
  pdf: 'application/pdf',
  txt: 'text/plain',
  wav: 'audio/wav',
  mp3: 'audio/mp3',
};

/** Throws the error for a part or field this adapter cannot express in Gemini. */
export function unsupported(message: string, param: string): never {
  throw new BadRequestError(message, 'unsupported_parameter', { param });
}

/**
 * The text of a content that may only hold text (system, developer and tool messages): a string, or text
 * parts concatenated.
 */
export function textOf(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) unsupported('Message content must be a string or an array of parts.', param);
  return content
    .map((part: unknown, j) => {
      const p = part as { type?: unknown; text?: unknown };
      if (p?.type !== 'text' || typeof p.text !== 'string') {
        unsupported(
          'Only text parts are supported in this message for Gemini providers.',
          `${param}[${j}].type`,
        );
      }
      return p.text;
    })
    .join('');
}

/**
 * Parts of a user message. `i` is the message index, for error `param`s. Empty texts are left out: Gemini
 * answers 400 to a part without data ("Unable to submit request because it has an empty text parameter").
 */
export function userParts(content: string | ChatCompletionContentPart[], i: number): Part[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  return content.flatMap((part, j) =>
    part.type === 'text' && part.text === '' ? [] : [userPart(part, `messages[${i}].content[${j}]`)],
  );
}

function userPart(part: ChatCompletionContentPart, param: string): Part {
  switch (part.type) {
    case 'text':
      return { text: part.text };
    case 'image_url':
      return imagePart(part.image_url, `${param}.image_url.url`);
    case 'input_audio':
      return audioPart(part.input_audio, `${param}.input_audio.format`);
    case 'file':
      return filePart(part.file, `${param}.file`);
    default:
      return unsupported(
        `Content part type "${String((part as { type?: unknown }).type)}" is not supported by Gemini providers.`,
        `${param}.type`,
      );
  }
}

function imagePart(image: ChatCompletionContentPartImage.ImageURL, param: string): Part {
  const url = image.url;
  if (url.startsWith('data:')) return { inlineData: parseDataUrl(url, 'image/jpeg', param) };
  if (url.startsWith('https://') || url.startsWith('http://')) {
    return { fileData: { fileUri: url, mimeType: guessMime(new URL(url).pathname, 'image/jpeg') } };
  }
  return unsupported('Image URLs must be http(s) URLs or base64 data: URLs.', param);
}

function audioPart(audio: ChatCompletionContentPartInputAudio.InputAudio, param: string): Part {
  if (audio.format !== 'wav' && audio.format !== 'mp3') {
    unsupported(`Audio format "${String(audio.format)}" is not supported; use wav or mp3.`, param);
  }
  return { inlineData: { mimeType: `audio/${audio.format}`, data: audio.data } };
}

function filePart(file: ChatCompletionContentPart.File.File, param: string): Part {
  if (typeof file.file_data !== 'string' || file.file_data === '') {
    return unsupported('Files must be sent inline as file_data; file_id is not supported by Gemini.', param);
  }
  const fallback = guessMime(file.filename ?? '', 'application/pdf');
  if (file.file_data.startsWith('data:')) {
    return { inlineData: parseDataUrl(file.file_data, fallback, `${param}.file_data`) };
  }
  return { inlineData: { mimeType: fallback, data: file.file_data } };
}

/** Splits `data:<mime>[;…];base64,<data>` without a regex, as these URLs can be megabytes long. */
function parseDataUrl(url: string, fallbackMime: string, param: string): { mimeType: string; data: string } {
  const comma = url.indexOf(',');
  const header = comma === -1 ? [] : url.slice('data:'.length, comma).split(';');
  if (!header.slice(1).some((p) => p.toLowerCase() === 'base64')) {
    unsupported('data: URLs must be base64-encoded.', param);
  }
  // MIME types are case-insensitive, Gemini's list is lower case; `image/jpg` is not a registered type but
  // common in data URLs, and Gemini refuses it.
  const mime = (header[0] ?? '').toLowerCase();
  return { mimeType: mime === 'image/jpg' ? 'image/jpeg' : mime || fallbackMime, data: url.slice(comma + 1) };
}

/** A MIME type from a path's extension (query string already removed), else the fallback. */
export function guessMime(path: string, fallback: string): string {
  const dot = path.lastIndexOf('.');
  if (dot === -1 || dot < path.lastIndexOf('/')) return fallback;
  return MIME_BY_EXTENSION[path.slice(dot + 1).toLowerCase()] ?? fallback;
}
