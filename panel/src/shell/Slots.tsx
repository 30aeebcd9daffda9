/**
 * THE BANNER AREA. Live parts of the panel (panel/src/live/*: incoming call banners, the active call
 * window, the connection state) render here, above every screen, and stay while the user moves between
 * screens. Add your components to `bannerSlots` (each gets the signed-in session through useSession());
 * keep each self-contained: it renders nothing when it has nothing to show.
 */
import type { ComponentType } from 'react';
import LinkBar from '../live/LinkBar';
import LiveLayer from '../live/LiveLayer';

export const bannerSlots: Array<{ key: string; component: ComponentType }> = [
  { key: 'live-link', component: LinkBar },
  { key: 'live-calls', component: LiveLayer },
];

/** Rendered by the shell above the page (and inside a Suspense boundary). */
export function BannerSlots() {
  if (!bannerSlots.length) return null;
  return (
    <div className="tf-banners" data-testid="banner-slots">
      {bannerSlots.map(({ key, component: C }) => (
        <C key={key} />
      ))}
    </div>
  );
}
