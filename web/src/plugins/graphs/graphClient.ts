// The page's side of the graph worker: requests as promises. A scene request
// that a newer one overtook resolves to null.

import GraphWorker from "./graph.worker?worker";
import type { Answer, Request } from "./protocol";

type Body<T extends Request["type"]> = Omit<Extract<Request, { type: T }>, "id" | "type">;
type Reply<T extends Answer["type"]> = Extract<Answer, { type: T }>;

export class GraphClient {
  private worker: Worker;
  private next = 1;
  private waiting = new Map<number, { resolve(answer: Answer): void; reject(error: Error): void }>();

  constructor() {
    this.worker = new GraphWorker();
    this.worker.onmessage = (event: MessageEvent<Answer>) => {
      const answer = event.data;
      const waiter = this.waiting.get(answer.id);
      if (!waiter) return;
      this.waiting.delete(answer.id);
      if (answer.type === "error") waiter.reject(new Error(answer.message));
      else waiter.resolve(answer);
    };
    this.worker.onerror = (event) => {
      const error = new Error(`the graph worker failed: ${event.message || "it could not be started"}`);
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    };
  }

  private ask(type: Request["type"], body: object): Promise<Answer> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ type, id, ...body });
    });
  }

  async load(body: Body<"load">): Promise<Reply<"loaded">> {
    return (await this.ask("load", body)) as Reply<"loaded">;
  }

  async scene(body: Body<"scene">): Promise<Reply<"scene"> | null> {
    const answer = await this.ask("scene", body);
    return answer.type === "scene" ? answer : null;
  }

  async marks(body: Body<"marks">): Promise<Reply<"marks">> {
    return (await this.ask("marks", body)) as Reply<"marks">;
  }

  async search(body: Body<"search">): Promise<Reply<"search">> {
    return (await this.ask("search", body)) as Reply<"search">;
  }

  async detail(body: Body<"detail">): Promise<Reply<"detail">> {
    return (await this.ask("detail", body)) as Reply<"detail">;
  }
}
