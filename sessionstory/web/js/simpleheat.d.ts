// simpleheat 0.4.0 ships no types; these are the calls we use.
declare module "simpleheat" {
  interface SimpleHeat {
    data(points: Array<[number, number, number]>): SimpleHeat;
    max(max: number): SimpleHeat;
    radius(radius: number, blur?: number): SimpleHeat;
    gradient(stops: Record<number, string>): SimpleHeat;
    resize(): void;
    draw(minOpacity?: number): SimpleHeat;
  }
  function simpleheat(canvas: HTMLCanvasElement): SimpleHeat;
  export = simpleheat;
}
