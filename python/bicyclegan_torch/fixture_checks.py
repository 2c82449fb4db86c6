"""Checks the fixture generators (test/fixtures/gen_*.py --check) share."""


def check_adam_step1(t, nets, adam):
    """Every `step1.<net>.<param>` equals one textbook Adam step (bias-corrected, t = 1) from `init.*` with
    `grad.*`: m = g, v = g^2, p1 = p0 - lr * g / (|g| + eps). `nets`: name -> module (its named_parameters)."""
    for k, net in nets.items():
        worst = 0.0
        for n, _ in net.named_parameters():
            g = t["grad.%s.%s" % (k, n)].double()
            m = (1 - adam["beta1"]) * g / (1 - adam["beta1"])
            v = (1 - adam["beta2"]) * g * g / (1 - adam["beta2"])
            p1 = t["init.%s.%s" % (k, n)].double() - adam["lr"] * m / (v.sqrt() + adam["eps"])
            worst = max(worst, (p1 - t["step1.%s.%s" % (k, n)].double()).abs().max().item())
        print("step1.%s vs textbook Adam(init, grad): max |diff| = %.3e" % (k, worst))
        assert worst < 2e-7
