// Where captured facts go: rrweb Custom events, recorded only while recording.

/** Records one fact; false when it was not recorded (recording is off). */
export type Emit = (tag: string, payload: object) => boolean;

/** At most `max` recorded per page load, so a noisy page can't flood its sessions. */
export const capped = (emit: Emit, max: number): Emit => {
  let n = 0;
  return (tag, payload) => n < max && emit(tag, payload) && ++n > 0;
};
