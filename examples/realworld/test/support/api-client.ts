/** A response as the tests compare it: status and parsed JSON body (`undefined` when empty). */
export interface ApiResponse {
  status: number;
  body: any;
}

/** Calls the RealWorld API at `baseUrl` (…/api) over HTTP, as a client would. */
export class ApiClient {
  constructor(readonly baseUrl: string) {}

  async call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, options: { token?: string; body?: unknown } = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers.authorization = `Token ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
  }

  get(path: string, token?: string): Promise<ApiResponse> {
    return this.call('GET', path, { token });
  }

  post(path: string, body?: unknown, token?: string): Promise<ApiResponse> {
    return this.call('POST', path, { token, body });
  }

  put(path: string, body: unknown, token?: string): Promise<ApiResponse> {
    return this.call('PUT', path, { token, body });
  }

  delete(path: string, token?: string): Promise<ApiResponse> {
    return this.call('DELETE', path, { token });
  }
}
