"""The floors the product's loops are measured against: minimal hand-written training loops.

Each takes the same prepared problem the product trains (same data, initial values, batch
order), does its set-up (graph, Session, device copies of the data), and returns a `train()`
that runs every step and returns what a product run returns: the per-step losses, the final
loss (one more forward pass on the whole data, in the floor's own style) and the final
parameters, as NumPy values; the benchmark times set-up and `train()` together, so every variant's
clock starts at the same point.
The TensorFlow floors use the catalog's predict and loss (the same maths); what they leave out
is the product's machinery: the shared driver, observers, checks and records.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tfmigration.catalog.problem import Problem


def minimal_graph(problem: Problem) -> Callable[[], np.ndarray]:
    """A bare TF1 loop: placeholders, tf.gradients, assign ops, one Session.run per step."""
    import tensorflow as tf

    from tfmigration.catalog.losses import squared_error

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(problem.model.dtype, (None, *problem.features.shape[1:]))
        y = tf.compat.v1.placeholder(problem.model.dtype, (None, *problem.targets.shape[1:]))
        params = {k: tf.Variable(v) for k, v in problem.initial_params.items()}
        loss = squared_error(problem.loss, y, problem.model.predict(params, x))
        variables = list(params.values())
        gradients = tf.gradients(loss, variables)
        with tf.control_dependencies([loss]):
            train = tf.group(
                *[
                    v.assign(v - problem.learning_rate * g)
                    for v, g in zip(variables, gradients, strict=True)
                ]
            )
        init = tf.compat.v1.global_variables_initializer()
    session = tf.compat.v1.Session(graph=graph)
    session.run(init)

    def run() -> tuple[np.ndarray, np.floating, dict]:
        losses = np.empty(problem.steps, dtype=problem.dtype)
        for step in range(problem.steps):
            features, targets = problem.batch(step)
            losses[step], _ = session.run([loss, train], {x: features, y: targets})
        final = session.run(loss, {x: problem.features, y: problem.targets})
        return losses, final, session.run(params)

    return run


def _eager_step(problem: Problem):
    import tensorflow as tf

    from tfmigration.catalog.losses import squared_error

    params = {k: tf.Variable(v) for k, v in problem.initial_params.items()}
    variables = list(params.values())
    lr = problem.learning_rate

    def step(features, targets):
        with tf.GradientTape() as tape:
            loss = squared_error(problem.loss, targets, problem.model.predict(params, features))
        for variable, gradient in zip(variables, tape.gradient(loss, variables), strict=True):
            variable.assign_sub(lr * gradient)
        return loss

    def forward_loss(features, targets):
        return squared_error(problem.loss, targets, problem.model.predict(params, features))

    step.params = params
    step.forward_loss = forward_loss
    return step


def minimal_eager(problem: Problem) -> Callable[[], np.ndarray]:
    """A bare eager loop: GradientTape and assign_sub, one step per Python iteration."""
    import tensorflow as tf

    return _per_step_loop(problem, _eager_step(problem), tf)


def minimal_function(problem: Problem) -> Callable[[], np.ndarray]:
    """The bare eager step under tf.function, called once per step."""
    import tensorflow as tf

    eager_step = _eager_step(problem)
    step = tf.function(eager_step)
    step.params = eager_step.params
    # The product traces its final-loss evaluation too (FunctionEngine.compiled_loss).
    step.forward_loss = tf.function(eager_step.forward_loss)
    return _per_step_loop(problem, step, tf)


def _per_step_loop(problem: Problem, step, tf):
    def run() -> tuple[np.ndarray, np.floating, dict]:
        losses = np.empty(problem.steps, dtype=problem.dtype)
        for index in range(problem.steps):
            features, targets = problem.batch(index)
            losses[index] = step(tf.constant(features), tf.constant(targets)).numpy()
        final = step.forward_loss(tf.constant(problem.features), tf.constant(problem.targets))
        return losses, final.numpy(), {name: value.numpy() for name, value in step.params.items()}

    return run


def numpy_loop(problem: Problem) -> Callable[[], np.ndarray]:
    """A hand-written NumPy loop in the model's dtype (quadratic and noisy-line)."""
    name = problem.model.name
    if name not in ("quadratic", "noisy-line"):
        raise ValueError(f"no NumPy floor for {name!r}")
    lr = problem.dtype.type(problem.learning_rate)
    two = problem.dtype.type(2)

    def run() -> tuple[np.ndarray, np.floating, dict]:
        w = problem.initial_params["w"].copy()
        b = problem.initial_params["b"].copy()
        losses = np.empty(problem.steps, dtype=problem.dtype)
        for step in range(problem.steps):
            x, y = problem.batch(step)
            basis = x * x if name == "quadratic" else x
            residual = y - (w * basis + b)
            losses[step] = np.mean(residual * residual)
            scale = -two / residual.size
            w = w - lr * (scale * np.sum(residual * basis))
            b = b - lr * (scale * np.sum(residual))
        basis = problem.features * problem.features if name == "quadratic" else problem.features
        residual = problem.targets - (w * basis + b)
        return losses, np.mean(residual * residual), {"w": w, "b": b}

    return run


def _jax_parts(problem: Problem):
    import jax
    import jax.numpy as jnp

    name = problem.model.name
    if name not in ("quadratic", "noisy-line"):
        raise ValueError(f"no JAX floor for {name!r}")
    features = jnp.asarray(problem.features)
    targets = jnp.asarray(problem.targets)
    indices = None if problem.batch_indices is None else jnp.asarray(problem.batch_indices)
    lr = problem.learning_rate

    def loss_fn(params, x, y):
        basis = x * x if name == "quadratic" else x
        return jnp.mean(jnp.square(y - (params[0] * basis + params[1])))

    def step(params, index):
        if indices is None:
            x, y = features, targets
        else:
            x, y = features[indices[index]], targets[indices[index]]
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        return (params[0] - lr * grads[0], params[1] - lr * grads[1]), loss

    params = (jnp.asarray(problem.initial_params["w"]), jnp.asarray(problem.initial_params["b"]))
    # The final loss on the whole data, compiled as the product's XLA run compiles its own.
    final_loss = jax.jit(lambda params: loss_fn(params, features, targets))
    return jax, jnp, step, params, final_loss


def jax_jit_step(problem: Problem) -> Callable[[], np.ndarray]:
    """JAX with a jitted step called once per step (what users weigh against tf.function)."""
    jax, _, step, params, final_loss = _jax_parts(problem)
    step = jax.jit(step)

    def run() -> tuple[np.ndarray, np.floating, dict]:
        current, losses = params, []
        for index in range(problem.steps):
            current, loss = step(current, index)
            losses.append(loss)
        final = jax.device_get(final_loss(current))
        w, b = jax.device_get(current)
        return np.array(jax.device_get(losses), dtype=problem.dtype), final, {"w": w, "b": b}

    return run


def jax_fori_loop(problem: Problem) -> Callable[[], np.ndarray]:
    """JAX with the whole loop compiled (lax.scan, fori_loop's loss-collecting sibling)."""
    jax, jnp, step, params, final_loss = _jax_parts(problem)

    @jax.jit
    def train(params):
        return jax.lax.scan(step, params, jnp.arange(problem.steps))

    def run() -> tuple[np.ndarray, np.floating, dict]:
        final_params, losses = train(params)
        final = jax.device_get(final_loss(final_params))
        w, b = jax.device_get(final_params)
        return np.asarray(losses, dtype=problem.dtype), final, {"w": w, "b": b}

    return run


FLOORS = {
    "minimal-graph": minimal_graph,
    "minimal-eager": minimal_eager,
    "minimal-function": minimal_function,
    "numpy": numpy_loop,
    "jax-jit-step": jax_jit_step,
    "jax-loop": jax_fori_loop,
}
