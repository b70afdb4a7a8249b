import { createHmac, timingSafeEqual } from 'node:crypto';
import { EntityManager } from '@mikro-orm/postgresql';
import {
  createParamDecorator,
  Inject,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from './app-config';
import { User } from './user.entity';

/**
 * Tokens are `<user id>.<HMAC-SHA256 of it>`, base64url: enough to show who is signed in, with no
 * dependency. They never expire, so they are for development and tests only.
 */
export function signToken(userId: number, secret: string): string {
  return `${userId}.${createHmac('sha256', secret).update(String(userId)).digest('base64url')}`;
}

/** The user id a token was signed for, or `undefined` when it is not one of ours. */
export function verifyToken(token: string, secret: string): number | undefined {
  const [id, mac] = token.split('.');
  if (id === undefined || mac === undefined || !/^[1-9]\d*$/.test(id)) return undefined;
  const expected = Buffer.from(signToken(Number(id), secret));
  const actual = Buffer.from(token);
  return expected.length === actual.length && timingSafeEqual(expected, actual) ? Number(id) : undefined;
}

type AuthenticatedRequest = { headers: Record<string, string | undefined>; viewer?: User };

/** `Authorization: Token <token>` (RealWorld's scheme; `Bearer` is accepted too). */
function tokenOf(request: AuthenticatedRequest): string | undefined {
  const match = /^(?:Token|Bearer) (\S+)$/.exec(request.headers.authorization ?? '');
  return match?.[1];
}

/** Loads the signed-in user into the request context's EntityManager, for the handlers to use. */
abstract class ViewerGuard implements CanActivate {
  constructor(
    private readonly em: EntityManager,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  protected abstract readonly required: boolean;

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = tokenOf(request);
    if (token === undefined) {
      if (this.required) throw new UnauthorizedException('sign in: send Authorization: Token <token>');
      return true;
    }
    const id = verifyToken(token, this.config.authSecret);
    const viewer = id === undefined ? null : await this.em.findOne(User, { id });
    if (viewer === null) throw new UnauthorizedException('the token is not valid: sign in again');
    request.viewer = viewer;
    return true;
  }
}

/** The endpoint needs a signed-in user. */
@Injectable()
export class AuthGuard extends ViewerGuard {
  protected readonly required = true;
}

/** A signed-in user changes the answer (`following`, `favorited`), but anyone may ask. */
@Injectable()
export class OptionalAuthGuard extends ViewerGuard {
  protected readonly required = false;
}

/** The signed-in user (after `AuthGuard`), or `undefined` (after `OptionalAuthGuard`, anonymous). */
export const Viewer = createParamDecorator((_: unknown, context: ExecutionContext): User | undefined => {
  return context.switchToHttp().getRequest<AuthenticatedRequest>().viewer;
});
