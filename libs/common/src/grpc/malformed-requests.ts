// Bytes that are not a valid protobuf message of a method's request type (garbage, a truncated
// message, a length prefix running past the end) fail to decode before any handler runs; grpc-js
// answers that with INTERNAL "Error deserializing request", which reads like a server bug. Here a
// failed decode yields a marker instead, and a middleware answers INVALID_ARGUMENT naming the type.
import { ServerError, Status, type CallContext, type ServerMiddleware, type ServerMiddlewareCall } from 'nice-grpc-common';
import type { TsProtoServiceDefinition } from 'nice-grpc';

const MALFORMED = Symbol('malformed protobuf request');

interface Malformed {
  [MALFORMED]: string;
}

function isMalformed(value: unknown): value is Malformed {
  return typeof value === 'object' && value !== null && MALFORMED in value;
}

function refusal(marker: Malformed): ServerError {
  return new ServerError(Status.INVALID_ARGUMENT, marker[MALFORMED]);
}

/** The definition with every request decoder answering a marker instead of throwing. */
export function withMalformedRequestMarkers<D extends TsProtoServiceDefinition>(definition: D): D {
  const methods: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(definition.methods)) {
    const { requestType } = method;
    const typeName = (requestType as { $type?: string }).$type ?? `${method.name}Request`;
    methods[key] = {
      ...method,
      requestType: {
        ...requestType,
        decode: (input: Uint8Array, length?: number) => {
          try {
            return (requestType.decode as (input: Uint8Array, length?: number) => unknown)(input, length);
          } catch (err) {
            return { [MALFORMED]: `the request is not a valid ${typeName} protobuf message (${(err as Error).message})` };
          }
        },
      },
    };
  }
  return { ...definition, methods } as D;
}

/** Refuses calls whose request (or any message of a request stream) failed to decode. */
export const malformedRequestMiddleware: ServerMiddleware = async function* <Req, Res>(
  call: ServerMiddlewareCall<Req, Res>,
  context: CallContext,
) {
  if (!call.requestStream) {
    if (isMalformed(call.request)) throw refusal(call.request);
    return yield* call.next(call.request, context);
  }
  const messages = call.request as AsyncIterable<unknown>;
  async function* checked() {
    for await (const message of messages) {
      if (isMalformed(message)) throw refusal(message);
      yield message;
    }
  }
  return yield* call.next(checked() as typeof call.request, context);
};
