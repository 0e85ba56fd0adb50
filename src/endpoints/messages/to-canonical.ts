/**
 * Anthropic Messages request → the canonical (OpenAI chat) request, for every provider that does not speak
 * the Messages API natively. An Anthropic deployment is sent the original body instead (native passthrough).
 *
 * Translated: system (string or text blocks) → a system message; user text, images (base64 → data: URL,
 * url), PDF documents (base64 → file part; text sources → text) ; assistant text and tool_use → content and
 * tool_calls; tool_result → tool messages (images in a result follow as a user message); tools (custom) →
 * function tools; tool_choice auto/any/tool/none (disable_parallel_tool_use → parallel_tool_calls: false);
 * stop_sequences → stop; max_tokens, temperature, top_p; metadata.user_id → user; stream.
 *
 * Kept in their nearest canonical form so the provider refuses them (400) rather than losing them silently:
 * server tools (`web_search_20250305` …) as non-function tools, URL documents as a file part. Files API
 * sources (`{type: 'file', file_id}`) are left out: the Messages stage (stage.ts) refuses them for every
 * route with a deployment that is not Anthropic.
 * Dropped (no equivalent): thinking / redacted_thinking blocks and `thinking`, `top_k`, `cache_control`,
 * citations, `service_tier`, `container`, `mcp_servers`.
 */
import type {
  ContentBlockParam,
  MessageCreateParamsBase,
  MessageParam,
  ToolResultBlockParam,
} from '@anthropic-ai/sdk/resources/messages';
import type {
  ChatCompletionContentPart,
  ChatCompletionMessageFunctionToolCall,
  ChatCompletionTool,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import type { ChatCompletionMessageParam, ChatRequest } from '../../providers/types.js';
import { type ToolMessage, toolTurn } from '../tool-turn.js';

/** The validated Messages body (the schema checked the shapes the translation reads). */
export type MessagesBody = MessageCreateParamsBase & Record<string, unknown>;

/** The canonical chat request for a Messages body. */
export function toCanonical(body: MessagesBody): ChatRequest {
  const messages: ChatCompletionMessageParam[] = [];
  const system = systemText(body.system);
  if (system !== '') messages.push({ role: 'system', content: system });
  for (const message of body.messages) messages.push(...translateMessage(message));
  const req: ChatRequest = { model: body.model, messages, max_tokens: body.max_tokens };
  if (body.temperature != null) req.temperature = body.temperature;
  if (body.top_p != null) req.top_p = body.top_p;
  if (body.stop_sequences && body.stop_sequences.length > 0) req.stop = body.stop_sequences;
  if (body.metadata?.user_id) req.user = body.metadata.user_id;
  if (body.tools && body.tools.length > 0) {
    req.tools = body.tools.map(toTool);
    const choice = body.tool_choice;
    if (choice) {
      req.tool_choice = toToolChoice(choice);
      if ('disable_parallel_tool_use' in choice && choice.disable_parallel_tool_use === true) {
        req.parallel_tool_calls = false;
      }
    }
  }
  if (body.stream === true) (req as { stream?: boolean }).stream = true;
  return req;
}

/** The system prompt as one text (blocks joined by a blank line). */
export function systemText(system: MessageCreateParamsBase['system']): string {
  if (system == null) return '';
  if (typeof system === 'string') return system;
  return system.map((block) => block.text).join('\n\n');
}

function translateMessage(message: MessageParam): ChatCompletionMessageParam[] {
  if (typeof message.content === 'string') {
    return message.role === 'user'
      ? [{ role: 'user', content: message.content }]
      : [{ role: 'assistant', content: message.content }];
  }
  return message.role === 'user' ? userMessages(message.content) : [assistantMessage(message.content)];
}

/** Tool results first (they answer the previous assistant turn), then the rest as one user message. */
function userMessages(blocks: readonly ContentBlockParam[]): ChatCompletionMessageParam[] {
  const tools: ToolMessage[] = [];
  const parts: ChatCompletionContentPart[] = [];
  for (const block of blocks) {
    if (block.type === 'tool_result') {
      const { text, media } = toolResultContent(block);
      tools.push({ callId: block.tool_use_id, text });
      parts.push(...media);
    } else {
      parts.push(...contentParts(block));
    }
  }
  return toolTurn(tools, parts);
}

function toolResultContent(block: ToolResultBlockParam): {
  text: string;
  media: ChatCompletionContentPart[];
} {
  const prefix = block.is_error === true ? '[tool error] ' : '';
  if (block.content == null || typeof block.content === 'string') {
    return { text: prefix + (block.content ?? ''), media: [] };
  }
  const texts: string[] = [];
  const media: ChatCompletionContentPart[] = [];
  for (const part of block.content) {
    if (part.type === 'text') texts.push(part.text);
    else media.push(...contentParts(part as ContentBlockParam));
  }
  return { text: prefix + texts.join('\n\n'), media };
}

function contentParts(block: ContentBlockParam): ChatCompletionContentPart[] {
  switch (block.type) {
    case 'text':
      return [{ type: 'text', text: block.text }];
    case 'image': {
      const source = block.source;
      // A Files API image: only Anthropic can read it (the Messages stage refuses other deployments).
      if (isFileSource(source)) return [];
      const url = source.type === 'base64' ? `data:${source.media_type};base64,${source.data}` : source.url;
      return [{ type: 'image_url', image_url: { url } }];
    }
    case 'document':
      return documentParts(block);
    case 'thinking':
    case 'redacted_thinking':
      return [];
    default:
      // Server-tool results, search results …: no chat equivalent. Their text, when they have any.
      return [{ type: 'text', text: JSON.stringify(block) }];
  }
}

function documentParts(block: Extract<ContentBlockParam, { type: 'document' }>): ChatCompletionContentPart[] {
  const source = block.source;
  const title = block.title ?? undefined;
  if (isFileSource(source)) return [];
  switch (source.type) {
    case 'base64':
      return [
        {
          type: 'file',
          file: {
            file_data: `data:${source.media_type};base64,${source.data}`,
            ...(title ? { filename: title } : {}),
          },
        },
      ];
    case 'text':
      return [{ type: 'text', text: title ? `${title}\n\n${source.data}` : source.data }];
    case 'content':
      return typeof source.content === 'string'
        ? [{ type: 'text', text: source.content }]
        : source.content.flatMap((part) => contentParts(part as ContentBlockParam));
    default:
      // A URL document: the provider is handed the URL where file data goes, and refuses it if it cannot.
      return [{ type: 'file', file: { file_data: source.url, ...(title ? { filename: title } : {}) } }];
  }
}

/** A beta Files API source (`{type: 'file', file_id}`), which the non-beta types do not list. */
function isFileSource(source: object): boolean {
  return (source as { type?: unknown }).type === 'file';
}

function assistantMessage(blocks: readonly ContentBlockParam[]): ChatCompletionMessageParam {
  const texts: string[] = [];
  const calls: ChatCompletionMessageFunctionToolCall[] = [];
  for (const block of blocks) {
    if (block.type === 'text') texts.push(block.text);
    else if (block.type === 'tool_use') {
      calls.push({
        id: block.id,
        type: 'function',
        function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
      });
    }
    // thinking / redacted_thinking: signed for Anthropic only; other providers cannot take them.
  }
  const text = texts.join('');
  if (calls.length === 0) return { role: 'assistant', content: text };
  return { role: 'assistant', content: text === '' ? null : text, tool_calls: calls };
}

function toTool(tool: NonNullable<MessagesBody['tools']>[number]): ChatCompletionTool {
  const t = tool as { name: string; description?: string; input_schema?: unknown; type?: string };
  if (t.input_schema === undefined || (t.type !== undefined && t.type !== 'custom')) {
    // A server tool (web search, bash …): left as what it is, for the provider to refuse.
    return { ...(tool as object), type: t.type ?? 'custom' } as unknown as ChatCompletionTool;
  }
  return {
    type: 'function',
    function: {
      name: t.name,
      ...(t.description ? { description: t.description } : {}),
      parameters: t.input_schema as Record<string, unknown>,
    },
  };
}

function toToolChoice(choice: NonNullable<MessagesBody['tool_choice']>): ChatCompletionToolChoiceOption {
  switch (choice.type) {
    case 'any':
      return 'required';
    case 'none':
      return 'none';
    case 'tool':
      return { type: 'function', function: { name: choice.name } };
    default:
      return 'auto';
  }
}
