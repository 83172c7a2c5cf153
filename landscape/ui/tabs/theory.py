"""Theory: the model and what each view shows, for a first visit."""
from __future__ import annotations

from dash import Input, Output, State, dcc, html, no_update

THEORY = r"""
### The model
A **teacher** network $f^*(x) = \sum_{r=1}^{M} \mathrm{ReLU}(v_r \cdot x)$ labels Gaussian
inputs $x \sim \mathcal N(0, I_d)$. A **student** $f(x) = \sum_{k=1}^{K} \mathrm{ReLU}(w_k \cdot x)$
learns it by minimising the population loss
$$L = \tfrac12\, \mathbb E\,[(f(x) - f^*(x))^2].$$

### Everything depends on a few overlaps
With $Q = WW^\top$ (students with students), $M = WV^\top$ (students with teachers) and
$P = VV^\top$ (teachers), the loss is exact in closed form via the arc-cosine kernel
$$\kappa(a,b) = \mathbb E[\mathrm{ReLU}(a\cdot x)\,\mathrm{ReLU}(b\cdot x)]
 = \frac{|a||b|}{2\pi}\,(\sin\theta + (\pi-\theta)\cos\theta),$$
$$L = \tfrac12 \sum_{k,l} \kappa(w_k,w_l) - \sum_{k,r} \kappa(w_k,v_r)
 + \tfrac12 \sum_{r,s}\kappa(v_r,v_s).$$
Gradient flow never leaves the span of the students and teachers, so everything is computed
exactly in $\min(d, K+M)$ dimensions, for any input dimension $d$, including $d\to\infty$.

### What each view shows
* **Fixed points**: random starts follow gradient flow to where it ends. Each end point is
  polished by Newton's method and classified by its *full* Hessian in dimension $d$: the block
  inside the span, plus a $K\times K$ block repeated $d-n$ times. Points that are the same up to
  permuting students (or equivalent teachers) are one entry. For $K=M\ge 6$ some starts end in
  **spurious local minima** (Safran & Shamir 2018).
* **Flows 2D**: the overlaps $M_{kr}(t)$, $Q_{kl}(t)$ and the loss along one trajectory. With a
  learning rate $\eta>0$ this is the one-pass SGD limit, including its $\eta^2$ term
  $\mathbb E[\delta_k\delta_l]$, overlaid with real SGD simulations in finite $d$.
* **Flows 3D**: all trajectories at once, coloured by where they end.
* **Families**: spurious minima come in families labelled by $k_1$, the number of students
  anti-aligned with a teacher. A handful of numbers describe a family member at any width; each
  family becomes a minimum at some width (★), and its loss decays like $1/K$.
* **Hierarchy**: with more students than teachers ($K>M$), splitting a student $w$ into
  $\alpha w$ and $(1-\alpha)w$ leaves the function unchanged. Minima become connected by flat
  directions, spurious minima turn into saddles, and far more starts reach the global minimum.
"""


def layout():
    return html.Div(id="view-theory", className="view theory", children=[
        html.Div(id="theory-text")])


def show_theory(tab, shown):
    """The text, typeset once its tab is first opened: MathJax and the Markdown renderer
    (2.5 MB of scripts, and typesetting) are then not paid by every other view's page."""
    if tab != "theory" or shown:
        return no_update
    return dcc.Markdown(THEORY, mathjax=True)


def register(app, context):
    app.callback(Output("theory-text", "children"), Input("tab", "value"),
                 State("theory-text", "children"))(show_theory)
