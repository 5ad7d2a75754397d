// Routing to a Sender: the first factory that serves an account wins. Backend adapters
// (Graph sendMail, Gmail messages.send) register their factories in the composition root.
import type { Sender, SenderFactory, SendingAccount } from './ports';

export class SenderRegistry implements SenderFactory {
  constructor(private readonly factories: readonly SenderFactory[]) {}

  senderFor(account: SendingAccount): Sender | null {
    for (const factory of this.factories) {
      const sender = factory.senderFor(account);
      if (sender) return sender;
    }
    return null;
  }

  close(): void {
    for (const factory of this.factories) factory.close?.();
  }
}
