/* The portal's service worker. Served from the API's root, beside /portal, so its default scope is the portal and
   the offer page alike (no Service-Worker-Allowed header needed). It caches nothing: every page is fetched from the
   service as usual. It shows an offer's push notification and, on a click, opens the offer's page: in a portal
   window already open when there is one, else in a new window. */
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

// A link the notification may open: a page of this service (same origin, under this worker's scope), nothing else.
function ownPage(link) {
  try {
    const url = new URL(link, self.registration.scope);
    return url.origin === self.location.origin && url.href.startsWith(self.registration.scope) ? url.href : null;
  } catch (e) {
    return null;
  }
}

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = {};
  }
  const title = typeof data.title === "string" && data.title ? data.title : "Help On Demand";
  const url = typeof data.url === "string" ? ownPage(data.url) : null;
  const options = {
    body: typeof data.body === "string" ? data.body : "",
    icon: "assets/icon.svg",
    badge: "assets/icon.svg",
    tag: url || "help-on-demand", // one notification per offer: the same offer pushed again replaces its own
    renotify: true,
    requireInteraction: true,
    data: { url },
  };
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = (event.notification.data && event.notification.data.url) || ownPage("portal");
  if (!target) return;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      const open = windows.find((w) => w.url.startsWith(self.registration.scope) && "navigate" in w);
      // (a window this worker does not control cannot be navigated by it: then a new one is opened)
      if (open) return open.focus().then((w) => (w || open).navigate(target)).catch(() => self.clients.openWindow(target));
      return self.clients.openWindow(target);
    })
  );
});
