/**
 * Desktop notifications, off unless the person turns them on (and the browser grants them).
 * They name the sender only: message text never goes to the system's notification centre.
 */
export interface Notifier {
  readonly supported: boolean;
  /** Asks for permission; resolves true when notifications may be shown. */
  enable(): Promise<boolean>;
  show(title: string, body: string): void;
}

export function browserNotifier(): Notifier {
  const supported = typeof Notification !== 'undefined';
  return {
    supported,
    async enable() {
      if (!supported) return false;
      if (Notification.permission === 'granted') return true;
      if (Notification.permission === 'denied') return false;
      return (await Notification.requestPermission()) === 'granted';
    },
    show(title, body) {
      if (!supported || Notification.permission !== 'granted') return;
      const notification = new Notification(title, { body, tag: 'hush', silent: false });
      notification.onclick = () => {
        window.focus();
        notification.close();
      };
    },
  };
}
