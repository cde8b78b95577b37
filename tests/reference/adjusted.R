# Reference values for ta.binary.adjusted, ta.binary.cmh, ta.binary.noninferiority and
# ta.continuous.tost (tests/test_binary_adjusted.py, tests/test_binary_stratified.py).
#
# Run from the repository root:  Rscript tests/reference/adjusted.R
#
# 1. Simulates a trial (set.seed) randomised by permuted blocks of 4 within 6 strata
#    (region x sex) with a binary outcome from a logistic model; writes it to
#    tests/fixtures/adjusted_data/trial.csv.
# 2. g-computation from glm(binomial): counterfactual risks, RD/RR/OR, with
#      - Ge et al. (2011) delta method with vcov(glm) (model-based) and with sandwich::sandwich
#        (HC0) in place of vcov;
#      - Ye, Shao, Yi & Zhao (2023) robust variance (simple randomisation), written from the
#        paper's Theorem (sample variances/covariances as R's var/cov);
#      - the same minus the covariate-adaptive-randomisation term for stratified permuted blocks
#        (Ye, Yi & Shao 2022; Bugni, Canay & Shaikh 2018): sum_z P(z) R_z Omega_SR R_z with
#        R_z = diag(E[y - mu_A(X) | Z = z, A = a] / pi_a), Omega_SR = diag(pi) - pi pi'.
#    with and without treatment-by-covariate interactions.
# 3. stats::mantelhaen.test (with and without continuity correction), metafor::rma.mh
#    (MH RD with the Sato-Greenland-Robins variance, MH RR with Greenland-Robins, MH OR with
#    Robins-Breslow-Greenland, Breslow-Day and Tarone homogeneity tests), the Greenland-Robins
#    (1985) RD variance written from the paper, stratified Newcombe (Yan & Su 2010: stratum
#    Wilson intervals at the adjusted level, combined with CMH weights, through prop.test;
#    then the limits d -/+ z sqrt(sum(w^2/n_1) l_1 (1 - l_1) + sum(w^2/n_0) u_0 (1 - u_0))), and
#    the stratified Miettinen-Nurminen score interval with CMH weights (constrained MLE by
#    optimize on each stratum's likelihood, limits by uniroot).
# 4. Farrington-Manning and Miettinen-Nurminen score tests at a margin (difference and
#    ratio; constrained MLE by optimize), and t.test-based TOST for means.
# 5. Power at margins: exact TOST power of two means (Owen's integral by integrate, and a
#    simulation), exact power of the score tests by enumeration, large-sample power of the
#    equivalence score test of two proportions.
# 6. ANCOVA LS-means with factor covariates: emmeans (equal / proportional weights) with
#    vcov(lm) and sandwich::vcovHC (HC0, HC3).
# 7. MMRM empirical (sandwich) covariance on nlme::gls, written from Liang & Zeger (1986).
# 8. The data of tern's stratified Newcombe test (its published expected values).
#
# Writes tests/fixtures/adjusted_from_r.py (stamped, DO NOT EDIT).

suppressPackageStartupMessages({
  library(sandwich)
  library(metafor)
})

num <- function(x) format(x, digits = 16)
vec <- function(v) paste0("[", paste(num(v), collapse = ", "), "]")
lines <- character()
add <- function(...) lines <<- c(lines, paste0(...))

# ------------------------------------------------------------------ 1. data
set.seed(20231118)
n <- 400
region <- sample(c("EU", "NA", "AS"), n, replace = TRUE, prob = c(0.5, 0.3, 0.2))
sex <- sample(c("F", "M"), n, replace = TRUE)
stratum <- paste(region, sex, sep = "/")
arm <- integer(n)
for (s in unique(stratum)) {   # permuted blocks of 4 within each stratum, in order of entry
  idx <- which(stratum == s)
  a <- unlist(lapply(seq_len(ceiling(length(idx) / 4)), function(b) sample(c(0, 0, 1, 1))))
  arm[idx] <- a[seq_along(idx)]
}
age <- round(rnorm(n, 60, 10))
hba1c <- round(rnorm(n, 8.5, 1.1), 1)
lp <- -0.4 + 0.7 * arm - 0.03 * (age - 60) - 0.5 * (hba1c - 8.5) + 0.4 * (sex == "M") +
  c(EU = 0, "NA" = -0.5, AS = 0.6)[region] + 0.3 * arm * (hba1c - 8.5)
y <- rbinom(n, 1, plogis(lp))
trial <- data.frame(id = seq_len(n), y = y, arm = arm, age = age, hba1c = hba1c, sex = sex,
                    region = region, stratum = stratum)
dir.create("tests/fixtures/adjusted_data", showWarnings = FALSE, recursive = TRUE)
write.csv(trial, "tests/fixtures/adjusted_data/trial.csv", row.names = FALSE, quote = TRUE)

# ------------------------------------------------------------------ 2. g-computation
gcomp <- function(formula, d, strata = NULL) {
  fit <- glm(formula, family = binomial, data = d, control = glm.control(epsilon = 1e-14, maxit = 100))
  d1 <- d; d1$arm <- 1
  d0 <- d; d0$arm <- 0
  X1 <- model.matrix(formula, model.frame(formula, d1))
  X0 <- model.matrix(formula, model.frame(formula, d0))
  b <- coef(fit)
  p1 <- plogis(drop(X1 %*% b)); p0 <- plogis(drop(X0 %*% b))
  theta <- c(mean(p0), mean(p1))            # order: control, experimental
  # Ge et al. (2011): d theta_a / d beta = mean(p_a (1 - p_a) x_a)
  D <- rbind(colMeans(p0 * (1 - p0) * X0), colMeans(p1 * (1 - p1) * X1))
  V_ge <- D %*% vcov(fit) %*% t(D)
  V_hc0 <- D %*% sandwich(fit) %*% t(D)
  # Ye et al. (2023)
  yv <- d$y; a <- d$arm; N <- length(yv)
  pi <- c(mean(a == 0), mean(a == 1))
  P <- cbind(p0, p1)
  V_ye <- matrix(0, 2, 2)
  for (i in 1:2) for (j in 1:2) {
    in_i <- a == i - 1; in_j <- a == j - 1
    if (i == j) {
      V_ye[i, i] <- var(yv[in_i] - P[in_i, i]) / pi[i] + 2 * cov(yv[in_i], P[in_i, i]) - var(P[, i])
    } else {
      V_ye[i, j] <- cov(yv[in_i], P[in_i, j]) + cov(yv[in_j], P[in_j, i]) - cov(P[, i], P[, j])
    }
  }
  V_ye <- V_ye / N
  # RobinCar's finite-sample form: var_a(y - p_a) expanded with the variance of p_a over all
  # patients, var_a(y) - 2 cov_a(y, p_a) + var(p_a)
  V_rc <- V_ye * N
  for (i in 1:2) {
    in_i <- a == i - 1
    c_yp <- cov(yv[in_i], P[in_i, i])
    V_rc[i, i] <- (var(yv[in_i]) - 2 * c_yp + var(P[, i])) / pi[i] + 2 * c_yp - var(P[, i])
  }
  V_rc <- V_rc / N
  V_car <- NULL
  V_rc_car <- NULL
  if (!is.null(strata)) {
    z <- d[[strata]]
    resid <- yv - ifelse(a == 1, p1, p0)
    Om <- diag(pi) - pi %o% pi
    erb <- matrix(0, 2, 2)
    for (s in unique(z)) {
      R <- diag(c(mean(resid[z == s & a == 0]) / pi[1], mean(resid[z == s & a == 1]) / pi[2]))
      erb <- erb + mean(z == s) * R %*% Om %*% R
    }
    V_car <- V_ye - erb / N
    V_rc_car <- V_rc - erb / N
  }
  list(theta = theta, ge = V_ge, hc0 = V_hc0, ye = V_ye, car = V_car, rc = V_rc,
       rc_car = V_rc_car, coef = b)
}
contrasts_of <- function(theta, V) {
  g <- list(rd = c(-1, 1), rr = c(-1 / theta[1], 1 / theta[2]),
            or = c(-1 / (theta[1] * (1 - theta[1])), 1 / (theta[2] * (1 - theta[2]))))
  est <- c(rd = theta[2] - theta[1], rr = theta[2] / theta[1],
           or = theta[2] / (1 - theta[2]) / (theta[1] / (1 - theta[1])))
  se <- sapply(g, function(gg) sqrt(drop(t(gg) %*% V %*% gg)))
  list(estimate = est, se = se)   # se of rd, log rr, log or
}
emit_gcomp <- function(name, g) {
  add(name, " = dict(")
  add("    coef=", vec(g$coef), ",")
  add("    theta=", vec(g$theta), ",")
  for (v in c("ge", "hc0", "ye", "car", "rc", "rc_car")) {
    if (is.null(g[[v]])) next
    cc <- contrasts_of(g$theta, g[[v]])
    add("    ", v, "_vcov=", vec(as.vector(g[[v]])), ",")
    add("    ", v, "_se=", vec(cc$se), ",")
  }
  cc <- contrasts_of(g$theta, g$ye)
  add("    estimate=", vec(cc$estimate), ",")
  add(")")
  add("")
}
f_main <- y ~ arm + age + hba1c + sex + region
emit_gcomp("GCOMP_MAIN", gcomp(f_main, trial, strata = "stratum"))
f_int <- y ~ arm * (age + hba1c + sex)
emit_gcomp("GCOMP_INTERACTION", gcomp(f_int, trial))
f_strat <- y ~ arm + age + hba1c + stratum
emit_gcomp("GCOMP_STRATA", gcomp(f_strat, trial, strata = "stratum"))

# ------------------------------------------------------------------ 3. stratified 2x2
strat_tables <- function(d) {
  # a: events experimental, b: non-events experimental, c: events control, d: non-events control
  levs <- sort(unique(d$stratum))
  t(sapply(levs, function(s) {
    e <- d[d$stratum == s, ]
    c(a = sum(e$y[e$arm == 1]), b = sum(1 - e$y[e$arm == 1]),
      c = sum(e$y[e$arm == 0]), d = sum(1 - e$y[e$arm == 0]))
  }))
}
wilson_adj <- function(x, n, level) {
  ci <- suppressWarnings(prop.test(x, n, correct = FALSE, conf.level = level)$conf.int)
  as.numeric(ci)
}
strat_wilson <- function(x, n, w, conf) {
  p <- x / n; v <- p * (1 - p) / n
  zq <- qnorm((1 + conf) / 2)
  zs <- sqrt(sum(w^2 * v)) / sum(sqrt(w^2 * v)) * zq
  lev <- 2 * pnorm(zs) - 1
  ci <- sapply(seq_along(x), function(k) wilson_adj(x[k], n[k], lev))
  c(est = sum(w * p), low = sum(w * ci[1, ]), high = sum(w * ci[2, ]))
}
cmle_rd <- function(x1, n1, x0, n0, delta) {
  # maximise the binomial likelihood over p0 with p1 = p0 + delta
  ll <- function(p0) {
    p1 <- p0 + delta
    dbinom(x1, n1, p1, log = TRUE) + dbinom(x0, n0, p0, log = TRUE)
  }
  lo <- max(0, -delta); hi <- min(1, 1 - delta)
  p0 <- optimize(ll, c(lo, hi), maximum = TRUE, tol = 1e-13)$maximum
  c(p0 + delta, p0)
}
strat_mn <- function(tab, conf) {
  x1 <- tab[, "a"]; n1 <- tab[, "a"] + tab[, "b"]; x0 <- tab[, "c"]; n0 <- tab[, "c"] + tab[, "d"]
  N <- n1 + n0; w <- n1 * n0 / N; w <- w / sum(w)
  dk <- x1 / n1 - x0 / n0; est <- sum(w * dk)
  zfun <- function(delta) {
    v <- sapply(seq_along(x1), function(k) {
      p <- cmle_rd(x1[k], n1[k], x0[k], n0[k], delta)
      (p[1] * (1 - p[1]) / n1[k] + p[2] * (1 - p[2]) / n0[k]) * N[k] / (N[k] - 1)
    })
    sum(w * (dk - delta)) / sqrt(sum(w^2 * v))
  }
  zq <- qnorm((1 + conf) / 2)
  low <- uniroot(function(t) zfun(t) - zq, c(-0.999999, est), tol = 1e-13)$root
  high <- uniroot(function(t) zfun(t) + zq, c(est, 0.999999), tol = 1e-13)$root
  c(est = est, low = low, high = high, z0 = zfun(0), z_m10 = zfun(-0.10), z_p05 = zfun(0.05))
}
emit_strat <- function(name, tab) {
  arr <- array(0, c(2, 2, nrow(tab)))
  for (k in seq_len(nrow(tab))) arr[, , k] <- matrix(c(tab[k, "a"], tab[k, "c"], tab[k, "b"], tab[k, "d"]), 2)
  m1 <- mantelhaen.test(arr, correct = TRUE)
  m0 <- mantelhaen.test(arr, correct = FALSE)
  ai <- tab[, "a"]; bi <- tab[, "b"]; ci <- tab[, "c"]; di <- tab[, "d"]
  mh_or <- rma.mh(ai = ai, bi = bi, ci = ci, di = di, measure = "OR")
  mh_rr <- rma.mh(ai = ai, bi = bi, ci = ci, di = di, measure = "RR")
  mh_rd <- rma.mh(ai = ai, bi = bi, ci = ci, di = di, measure = "RD")
  # Greenland & Robins (1985) RD variance (not sparse-data consistent)
  n1 <- ai + bi; n0 <- ci + di; N <- n1 + n0
  rd <- sum((ai * n0 - ci * n1) / N) / sum(n1 * n0 / N)
  var_gr <- sum((ai * bi * n0^3 + ci * di * n1^3) / (n1 * n0 * N^2)) / sum(n1 * n0 / N)^2
  w <- n1 * n0 / N; w <- w / sum(w)
  sw1 <- strat_wilson(ai, n1, w, 0.95); sw0 <- strat_wilson(ci, n0, w, 0.95)
  d <- sw1[["est"]] - sw0[["est"]]
  # Yan & Su (2010) / tern prop_diff_strat_nc: lambda_a = sum(w^2 / n_a), variances at the
  # stratified Wilson limits
  l1 <- sum(w^2 / n1); l0 <- sum(w^2 / n0); zq <- qnorm(0.975)
  nc <- c(d, d - zq * sqrt(l1 * sw1[["low"]] * (1 - sw1[["low"]]) + l0 * sw0[["high"]] * (1 - sw0[["high"]])),
          d + zq * sqrt(l0 * sw0[["low"]] * (1 - sw0[["low"]]) + l1 * sw1[["high"]] * (1 - sw1[["high"]])))
  mn <- strat_mn(tab, 0.95)
  add(name, " = dict(")
  add("    a=", vec(ai), ", b=", vec(bi), ", c=", vec(ci), ", d=", vec(di), ",")
  add("    cmh_cc=", num(unname(m1$statistic)), ", cmh_cc_p=", num(m1$p.value), ",")
  add("    cmh=", num(unname(m0$statistic)), ", cmh_p=", num(m0$p.value), ",")
  add("    mh_or=", num(unname(m0$estimate)), ", mh_or_ci=", vec(m0$conf.int), ",")
  add("    rma_or=", vec(exp(c(mh_or$beta, mh_or$ci.lb, mh_or$ci.ub))), ", rma_or_se=", num(mh_or$se), ",")
  add("    rma_rr=", vec(exp(c(mh_rr$beta, mh_rr$ci.lb, mh_rr$ci.ub))), ", rma_rr_se=", num(mh_rr$se), ",")
  add("    rma_rd=", vec(c(mh_rd$beta, mh_rd$ci.lb, mh_rd$ci.ub)), ", rma_rd_se=", num(mh_rd$se), ",")
  add("    rma_cmh=", num(mh_or$MH), ", rma_cmh_p=", num(mh_or$MHp), ",")
  add("    breslow_day=", num(mh_or$BD), ", breslow_day_p=", num(mh_or$BDp), ",")
  add("    tarone=", num(mh_or$TA), ", tarone_p=", num(mh_or$TAp), ", homog_df=", num(mh_or$k.pos - 1), ",")
  add("    gr_rd=", num(rd), ", gr_rd_se=", num(sqrt(var_gr)), ",")
  add("    newcombe=", vec(nc), ",")
  add("    wilson1=", vec(sw1), ", wilson0=", vec(sw0), ",")
  add("    mn=", vec(mn[1:3]), ", mn_z0=", num(mn[["z0"]]), ",")
  add("    mn_z_margin_m10=", num(mn[["z_m10"]]), ", mn_z_margin_p05=", num(mn[["z_p05"]]), ",")
  add(")")
  add("")
}
emit_strat("STRAT_TRIAL", strat_tables(trial))
# Penicillin and rabbits (Cochran 1954), the example of R's ?mantelhaen.test: 5 penicillin
# levels; experimental = treated immediately ("None" delay), event = cured. Stratum 1 has no
# cures (it contributes nothing), stratum 5 has no deaths.
rabbits <- cbind(a = c(0, 3, 6, 5, 2), b = c(6, 3, 0, 1, 0), c = c(0, 0, 2, 6, 5), d = c(5, 6, 4, 0, 0))
rownames(rabbits) <- paste0("s", 1:5)
arr <- array(0, c(2, 2, 5))
for (k in 1:5) arr[, , k] <- matrix(c(rabbits[k, "a"], rabbits[k, "c"], rabbits[k, "b"], rabbits[k, "d"]), 2)
Rabbits <- array(c(0, 0, 6, 5, 3, 0, 3, 6, 6, 2, 0, 4, 5, 6, 1, 0, 2, 5, 0, 0), dim = c(2, 2, 5))
stopifnot(all(arr == Rabbits))  # the same array as in ?mantelhaen.test
emit_strat("RABBITS", rabbits)

# ------------------------------------------------------------------ 4. margins and TOST
cmle_rr <- function(x1, n1, x0, n0, phi) {
  ll <- function(p0) dbinom(x1, n1, phi * p0, log = TRUE) + dbinom(x0, n0, p0, log = TRUE)
  p0 <- optimize(ll, c(0, min(1, 1 / phi)), maximum = TRUE, tol = 1e-13)$maximum
  c(phi * p0, p0)
}
margin_tests <- function(x1, n1, x0, n0, delta, phi) {
  N <- n1 + n0; p1 <- x1 / n1; p0 <- x0 / n0
  q <- cmle_rd(x1, n1, x0, n0, delta)
  v <- q[1] * (1 - q[1]) / n1 + q[2] * (1 - q[2]) / n0
  z_fm <- (p1 - p0 - delta) / sqrt(v); z_mn <- (p1 - p0 - delta) / sqrt(v * N / (N - 1))
  r <- cmle_rr(x1, n1, x0, n0, phi)
  vr <- r[1] * (1 - r[1]) / n1 + phi^2 * r[2] * (1 - r[2]) / n0
  zr_fm <- (p1 - phi * p0) / sqrt(vr); zr_mn <- (p1 - phi * p0) / sqrt(vr * N / (N - 1))
  c(z_fm = z_fm, z_mn = z_mn, zr_fm = zr_fm, zr_mn = zr_mn)
}
add("MARGIN = [")
for (case in list(c(150, 200, 155, 200, -0.10, 0.8), c(40, 60, 45, 58, -0.15, 0.75), c(9, 45, 2, 44, 0.05, 1.5))) {
  z <- margin_tests(case[1], case[2], case[3], case[4], case[5], case[6])
  add("    dict(x1=", case[1], ", n1=", case[2], ", x2=", case[3], ", n2=", case[4],
      ", delta=", num(case[5]), ", phi=", num(case[6]), ", z_fm=", num(z[["z_fm"]]),
      ", z_mn=", num(z[["z_mn"]]), ", zr_fm=", num(z[["zr_fm"]]), ", zr_mn=", num(z[["zr_mn"]]), "),")
}
add("]")
add("")
set.seed(7)
xm <- round(rnorm(30, 5.2, 1.3), 2); ym <- round(rnorm(34, 5.0, 1.1), 2)
tost <- function(var.equal) {
  lo <- t.test(xm, ym, mu = -0.8, alternative = "greater", var.equal = var.equal)
  hi <- t.test(xm, ym, mu = 0.8, alternative = "less", var.equal = var.equal)
  ci <- t.test(xm, ym, var.equal = var.equal, conf.level = 0.90)$conf.int
  c(lo$p.value, hi$p.value, lo$statistic, hi$statistic, lo$parameter, ci)
}
add("TOST_MEANS = dict(")
add("    x=", vec(xm), ",")
add("    y=", vec(ym), ",")
add("    low=-0.8, high=0.8,")
add("    pooled=", vec(tost(TRUE)), ",  # p_low, p_high, t_low, t_high, df, 90% CI")
add("    welch=", vec(tost(FALSE)), ",")
add(")")
add("")

# ------------------------------------------------------------------ 5. power at margins
# Exact TOST power of two means (pooled t): Owen's integral over the chi-square distribution
# of the pooled variance, by integrate(); and a simulation of the two one-sided t tests (the
# sample mean difference and pooled variance drawn from their exact distributions).
tost_power <- function(delta, sd, low, high, n1, n2, alpha) {
  se <- sd * sqrt(1 / n1 + 1 / n2); nu <- n1 + n2 - 2; tq <- qt(1 - alpha, nu)
  f <- function(u) {
    r <- tq * sqrt(u / nu)
    pmax(pnorm((high - delta) / se - r) - pnorm((low - delta) / se + r), 0) * dchisq(u, nu)
  }
  umax <- nu * ((high - low) / (2 * tq * se))^2
  integrate(f, 0, umax, rel.tol = 1e-12, abs.tol = 1e-14, subdivisions = 500L)$value
}
tost_sim <- function(delta, sd, low, high, n1, n2, alpha, B) {
  se <- sd * sqrt(1 / n1 + 1 / n2); nu <- n1 + n2 - 2; tq <- qt(1 - alpha, nu)
  d <- rnorm(B, delta, se); s <- sd * sqrt(rchisq(B, nu) / nu)
  mean((d - low) / (s * se / sd) > tq & (d - high) / (s * se / sd) < -tq)
}
set.seed(11)
add("TOST_POWER = [")
for (case in list(c(0, 1, -0.5, 0.5, 70, 70, 0.05), c(0.1, 1, -0.5, 0.5, 50, 50, 0.05),
                  c(-0.2, 2.5, -1, 1.2, 40, 80, 0.025), c(0, 1, -0.5, 0.5, 8, 8, 0.05))) {
  p <- do.call(tost_power, as.list(case))
  ps <- tost_sim(case[1], case[2], case[3], case[4], case[5], case[6], case[7], 4e6)
  add("    dict(delta=", num(case[1]), ", sd=", num(case[2]), ", low=", num(case[3]), ", high=", num(case[4]),
      ", n1=", case[5], ", n2=", case[6], ", alpha=", num(case[7]), ", power=", num(p), ", simulated=", num(ps), "),")
}
add("]")
add("")
# Exact power of the score tests against a margin: every table enumerated, the statistic with
# the constrained MLE by optimize (cmle_rd / cmle_rr above), rejection when z beyond qnorm.
score_stat <- function(x1, n1, x0, n0, m, effect, method) {
  N <- n1 + n0; f <- if (method == "mn") N / (N - 1) else 1
  if (effect == "rd") {
    q <- cmle_rd(x1, n1, x0, n0, m)
    v <- (q[1] * (1 - q[1]) / n1 + q[2] * (1 - q[2]) / n0) * f
    num <- x1 / n1 - x0 / n0 - m
  } else {
    q <- cmle_rr(x1, n1, x0, n0, m)
    v <- (q[1] * (1 - q[1]) / n1 + m^2 * q[2] * (1 - q[2]) / n0) * f
    num <- x1 / n1 - m * x0 / n0
  }
  if (v <= 0) return(if (num == 0) 0 else sign(num) * Inf)
  num / sqrt(v)
}
exact_margin <- function(p1, p0, n1, n0, low, high, effect, method, alpha) {
  zq <- qnorm(1 - alpha)
  R <- matrix(FALSE, n1 + 1, n0 + 1)
  for (i in 0:n1) for (j in 0:n0) {
    lo_ok <- if (is.na(low)) TRUE else score_stat(i, n1, j, n0, low, effect, method) > zq
    hi_ok <- if (is.na(high)) TRUE else score_stat(i, n1, j, n0, high, effect, method) < -zq
    R[i + 1, j + 1] <- lo_ok && hi_ok
  }
  sum(outer(dbinom(0:n1, n1, p1), dbinom(0:n0, n0, p0)) * R)
}
add("EXACT_MARGIN = [")
for (case in list(list(0.7, 0.7, 60, 60, -0.15, NA, "rd", "mn", 0.025),
                  list(0.6, 0.65, 50, 70, -0.2, NA, "rd", "fm", 0.025),
                  list(0.3, 0.3, 60, 60, 0.7, NA, "rr", "mn", 0.025),
                  list(0.2, 0.2, 60, 60, NA, 1.8, "rr", "fm", 0.025),
                  list(0.7, 0.7, 80, 80, -0.15, 0.15, "rd", "mn", 0.05))) {
  p <- do.call(exact_margin, case)
  add("    dict(p1=", num(case[[1]]), ", p2=", num(case[[2]]), ", n1=", case[[3]], ", n2=", case[[4]],
      ", low=", if (is.na(case[[5]])) "None" else num(case[[5]]),
      ", high=", if (is.na(case[[6]])) "None" else num(case[[6]]),
      ", effect='", case[[7]], "', method='", case[[8]], "', alpha=", num(case[[9]]), ", power=", num(p), "),")
}
add("]")
add("")
# Large-sample power of the equivalence score test of two proportions (Farrington-Manning null
# variances at each margin from the constrained MLE found by optimize on the expected
# likelihood: the cubic's root at the assumed proportions).
cmle_rd_p <- function(p1, p0, n1, n0, delta) {
  ll <- function(q0) n1 * (p1 * log(q0 + delta) + (1 - p1) * log(1 - q0 - delta)) +
    n0 * (p0 * log(q0) + (1 - p0) * log(1 - q0))
  q0 <- optimize(ll, c(max(0, -delta), min(1, 1 - delta)), maximum = TRUE, tol = 1e-13)$maximum
  c(q0 + delta, q0)
}
equiv_power <- function(p1, p0, low, high, n1, n0, alpha) {
  s <- sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0); z <- qnorm(1 - alpha); d <- p1 - p0
  s0 <- sapply(c(low, high), function(m) {
    q <- cmle_rd_p(p1, p0, n1, n0, m); sqrt(q[1] * (1 - q[1]) / n1 + q[2] * (1 - q[2]) / n0)
  })
  max(pnorm((d - low - z * s0[1]) / s) + pnorm((high - d - z * s0[2]) / s) - 1, 0)
}
add("EQUIV_PROPS = [")
for (case in list(c(0.7, 0.7, -0.1, 0.1, 360, 360, 0.05), c(0.65, 0.6, -0.1, 0.15, 200, 300, 0.05))) {
  add("    dict(p1=", num(case[1]), ", p2=", num(case[2]), ", low=", num(case[3]), ", high=", num(case[4]),
      ", n1=", case[5], ", n2=", case[6], ", alpha=", num(case[7]), ", power=", num(do.call(equiv_power, as.list(case))), "),")
}
add("]")
add("")

# ------------------------------------------------------------------ 6. ANCOVA LS-means
# emmeans on lm with factor covariates (and arm interactions), equal and proportional
# weights, model-based and sandwich::vcovHC covariances; outcome hba1c of the same data.
suppressPackageStartupMessages(library(emmeans))
tr <- trial; tr$armf <- factor(tr$arm, levels = c(0, 1))
em_case <- function(formula, w, V) {
  fit <- lm(formula, data = tr)
  vc <- if (V == "model") vcov(fit) else sandwich::vcovHC(fit, type = V)
  em <- emmeans(fit, "armf", weights = w, vcov. = vc)
  s <- summary(em); ct <- summary(contrast(em, list(d = c(-1, 1))))
  c(s$emmean[2], s$SE[2], s$emmean[1], s$SE[1], ct$estimate, ct$SE, ct$df)
}
add("LSMEANS = [  # lsmean_1, se_1, lsmean_0, se_0, difference, se, df")
for (inter in c(FALSE, TRUE)) for (w in c("equal", "proportional")) for (V in c("model", "HC0", "HC3")) {
  f <- if (inter) hba1c ~ armf * (age + sex + region) else hba1c ~ armf + age + sex + region
  add("    dict(interaction=", if (inter) "True" else "False", ", weights='", w, "', vcov='", V,
      "', values=", vec(em_case(f, w, V)), "),")
}
add("]")
add("")

# ------------------------------------------------------------------ 7. MMRM sandwich
# Empirical (CR0) covariance of the fixed effects of nlme::gls (unstructured, REML) on the
# mmrm.R data set with missing visits: sum over subjects of X_i' S_i^-1 r_i r_i' S_i^-1 X_i
# with S_i = getVarCov(fit, individual = i); contrasts by emmeans' linfct.
suppressPackageStartupMessages(library(nlme))
dm <- read.csv("tests/fixtures/mmrm_data/missing.csv", stringsAsFactors = FALSE)
dm$visit <- factor(dm$visit, levels = sort(unique(dm$visit)))
dm$arm <- factor(dm$arm, levels = c("UC-MSC", "Placebo"))
dm$vi <- as.integer(dm$visit); dm$subject <- factor(dm$subject)
dm <- dm[order(dm$subject, dm$vi), ]
assign("dm_fit", dm, envir = globalenv())
gfit <- gls(y ~ visit * arm + visit * base, data = dm_fit, correlation = corSymm(form = ~ vi | subject),
            weights = varIdent(form = ~ 1 | visit), method = "REML",
            control = glsControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-10, msTol = 1e-12))
Xm <- model.matrix(y ~ visit * arm + visit * base, dm)
rm_ <- dm$y - drop(Xm %*% coef(gfit))
Am <- 0; Bm <- 0
for (s in levels(dm$subject)) {
  idx <- which(dm$subject == s)
  Si <- as.matrix(getVarCov(gfit, individual = s))
  Xi <- Xm[idx, , drop = FALSE]
  XtSi <- t(Xi) %*% solve(Si)
  Am <- Am + XtSi %*% Xi
  u <- XtSi %*% rm_[idx]
  Bm <- Bm + u %*% t(u)
}
Vemp <- solve(Am) %*% Bm %*% solve(Am)
emm <- emmeans(gfit, ~ arm | visit, data = dm_fit, mode = "df.error")
Lc <- contrast(emm, list(d = c(-1, 1)))@linfct   # Placebo - UC-MSC at each visit
add("MMRM_SANDWICH = dict(  # data: tests/fixtures/mmrm_data/missing.csv; Placebo - UC-MSC by visit")
add("    estimate=", vec(drop(Lc %*% coef(gfit))), ",")
add("    se_model=", vec(sqrt(diag(Lc %*% vcov(gfit) %*% t(Lc)))), ",")
add("    se_empirical=", vec(sqrt(diag(Lc %*% Vemp %*% t(Lc)))), ",")
add("    coef_se_empirical=", vec(sqrt(diag(Vemp))), ",")
add(")")
add("")

# ------------------------------------------------------------------ 8. tern's stratified Newcombe check
# The data of tern's test "prop_strat_nc (proportion difference by stratified Newcombe) with
# cmh weights" (tests/testthat/test-prop_diff.R), regenerated with the same seed and calls;
# tern expects diff 0.2539 and CI (0.0347, 0.4454) ("values externally validated").
set.seed(1)
rsp <- c(sample(c(TRUE, FALSE), size = 40, prob = c(3 / 4, 1 / 4), replace = TRUE),
         sample(c(TRUE, FALSE), size = 40, prob = c(1 / 2, 1 / 2), replace = TRUE))
grp <- factor(rep(c("A", "B"), each = 40), levels = c("B", "A"))
strata_data <- data.frame(f1 = sample(c("a", "b"), 80, TRUE), f2 = sample(c("x", "y", "z"), 80, TRUE),
                          stringsAsFactors = TRUE)
strata <- interaction(strata_data)
lv <- levels(droplevels(strata))
cnt <- function(g) sapply(lv, function(s) c(sum(rsp[grp == g & strata == s]), sum(grp == g & strata == s)))
cA <- cnt("A"); cB <- cnt("B")
add("TERN_STRAT_NC = dict(  # experimental A, control B, by stratum ", paste(lv, collapse = " "))
add("    x1=", vec(cA[1, ]), ", n1=", vec(cA[2, ]), ",")
add("    x2=", vec(cB[1, ]), ", n2=", vec(cB[2, ]), ",")
add("    tern_diff=0.2539, tern_ci=[0.0347, 0.4454],")
add(")")
add("")

header <- c(
  paste0('"""Generated by tests/reference/adjusted.R on ', format(Sys.Date()), " with ", R.version.string,
         " (sandwich ", packageVersion("sandwich"), ", metafor ", packageVersion("metafor"),
         ", emmeans ", packageVersion("emmeans"), ")."),
  "",
  "DO NOT EDIT. Data set: tests/fixtures/adjusted_data/trial.csv (written by the same script).",
  "Vectors of variances are 2x2 matrices in column order (control, experimental); *_se are the",
  "standard errors of (rd, log rr, log or).",
  '"""',
  "")
writeLines(c(header, lines), "tests/fixtures/adjusted_from_r.py")
cat("wrote tests/fixtures/adjusted_from_r.py\n")
