"""A migration with one wrong hyperparameter, as a user would submit it: the TF1 model trains
with AdamOptimizer(beta2=0.999) (TF1's default) and the Keras 3 port passes beta_2=0.99.

Acceptance: `tfbridge check tests/migrations/wrong_hyperparameter.py` must report a divergence
at the optimizer update (not the forward pass, not the gradients). Adam's first step hardly
depends on beta_2 (m / sqrt(v) is about sign(g) at step 1 for any beta_2), so the difference
shows from the second step on.

Naming exercised: TF1 scopes `encoder/layer1`, `encoder/layer2`, `head` against a Keras
functional model whose Dense layers keep their automatic names (`dense`, `dense_1`,
`dense_2`): no scope in common, so only shapes and creation order can pair them.
"""

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 50
STEPS = 20


def data():
    # Two interleaved half-moons with noise: 400 points, 2 features, 2 classes.
    rng = np.random.default_rng(3)
    t = rng.uniform(0, np.pi, 400)
    upper = rng.random(400) < 0.5
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    points = np.stack([x, y], axis=1) + rng.normal(scale=0.1, size=(400, 2))
    return points.astype(np.float32), upper.astype(np.int32)


def tf1_train(features, labels):
    def fc(x, n_out, activation=None):
        w = tf.compat.v1.get_variable("weights", [x.shape[-1], n_out])
        b = tf.compat.v1.get_variable("biases", [n_out], initializer=tf.zeros_initializer())
        y = tf.nn.bias_add(tf.matmul(x, w), b)
        return activation(y) if activation else y

    with tf.compat.v1.variable_scope("encoder"):
        with tf.compat.v1.variable_scope("layer1"):
            h = fc(features, 24, tf.nn.tanh)
        with tf.compat.v1.variable_scope("layer2"):
            h = fc(h, 12, tf.nn.tanh)
    with tf.compat.v1.variable_scope("head"):
        logits = fc(h, 2)
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    opt = tf.compat.v1.train.AdamOptimizer(learning_rate=0.02, beta1=0.9, beta2=0.999)
    return loss, opt.minimize(loss)


def tf2_setup():
    inputs = keras.Input(shape=(2,))
    h = keras.layers.Dense(24, activation="tanh")(inputs)
    h = keras.layers.Dense(12, activation="tanh")(h)
    logits = keras.layers.Dense(2)(h)
    model = keras.Model(inputs, logits)
    # The mistake: beta_2=0.99 (TF1 used 0.999). epsilon is TF1's 1e-8, rightly.
    opt = keras.optimizers.Adam(learning_rate=0.02, beta_1=0.9, beta_2=0.99, epsilon=1e-8)
    return model, opt


loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def tf2_train_step(state, features, labels):
    model, opt = state
    with tf.GradientTape() as tape:
        loss = loss_fn(labels, model(features, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
    return loss
