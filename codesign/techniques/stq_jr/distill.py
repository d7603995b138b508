"""Robust distillation from the float + JR network into the quantized one (config `harden.distill`).

Why: a stochastic-ternary MLP trained with the same Jacobian penalty as its float32 twin ends up far
less robust than it (bench/stq_jr_sweep.py: 8-bit kernels with the same JR match float + JR, ternary
kernels trail it by ~11 PGD points), so the penalty alone does not find the flat network the ternary
weights could express. Adversarially robust distillation (Goldblum et al. 2020, "Adversarially
Robust Distillation") hands the student the robust teacher's *function* instead: the student is
pulled toward the teacher's soft labels at points of the eps-ball where it disagrees with them most.

The teacher is the config's `float_jr` variant (the same layers in float32, trained with the same
recipe and JR), trained first; with ``teacher: dense`` it is instead the `dense_ref` variant, a Kronecker
network's dense reference (every kron_dense layer a dense one, codesign/techniques/kron/reference.py,
trained with the same `train:` recipe), and the student need not use JR. Each training step adds

    weight * T^2 * KL(softmax(teacher(x) / T) || softmax(student(x') / T))

to the JR loss, where x' starts at a uniformly random point of the L-inf ball of radius `epsilon`
around x and takes `steps` signed-gradient steps of `step_ratio * epsilon` (default: one step of
`epsilon`) that increase that KL, each projected back onto the ball and the pixel range;
``epsilon: 0`` distils on the clean inputs. x' is a constant for the
weight update, and is made in the same learning-phase scope, so a stochastic-ternary student is
attacked with this step's sampled weights. JR's lambda warm-up (`harden.jr.warmup`) scales this term too.
"""
from __future__ import annotations

from ...config_schema import Distill

_DEFAULT = Distill()  # harden.distill's keys, defaults and bounds: codesign/config_schema.py `Distill`
TEACHER = "float_jr"   # the variant that teaches (codesign/variants.py variant_layers); stq_jr learns
TEACHERS = {"float_jr": TEACHER, "dense": "dense_ref"}  # harden.distill.teacher -> the teaching variant


class Distillation:
    """The JR regularizer plus the distillation term; called like it, as
    ``logits, penalty, terms = distillation(model, x)`` inside the training tape (`terms['distill']`
    is the KL). The teacher is only read."""

    def __init__(self, teacher, regularizer, weight: float, temperature: float, epsilon: float,
                 steps: int = _DEFAULT.steps, step_ratio: float = _DEFAULT.step_ratio):
        self.teacher, self.regularizer = teacher, regularizer
        self.weight, self.temperature, self.epsilon = float(weight), float(temperature), float(epsilon)
        self.steps, self.step = int(steps), float(step_ratio) * float(epsilon)

    def scale_at(self, epoch: int) -> float:
        return self.regularizer.scale_at(epoch)

    def __bool__(self) -> bool:
        return True

    def _kl(self, p_teacher, student_logits):
        import tensorflow as tf

        log_q = tf.nn.log_softmax(student_logits / self.temperature)
        p = tf.clip_by_value(p_teacher, 1e-12, 1.0)
        return tf.reduce_mean(tf.reduce_sum(p_teacher * (tf.math.log(p) - log_q), axis=-1))

    def student_inputs(self, model, x, p_teacher):
        """x' of the module docstring: random start in the eps-ball, `steps` signed steps up the KL."""
        from ...train import linf_pgd

        if self.epsilon == 0:
            return x
        return linf_pgd(lambda xa: self._kl(p_teacher, model(xa, training=True)), x, self.epsilon,
                         self.steps, self.step)

    def __call__(self, model, x):
        import tensorflow as tf

        logits, penalty, terms = self.regularizer(model, x)
        p_teacher = tf.stop_gradient(tf.nn.softmax(self.teacher(x, training=False) / self.temperature))
        x_student = self.student_inputs(model, x, p_teacher)
        student = logits if x_student is x else model(x_student, training=True)
        terms = dict(terms, distill=self._kl(p_teacher, student))
        return logits, penalty + self.weight * self.temperature ** 2 * terms["distill"], terms
